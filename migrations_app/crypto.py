"""Secrets at rest: MultiFernet keyed from the environment (JULIEOPS_FERNET_KEYS).

The first key encrypts; every key decrypts, so a new key can be put first and old tokens
re-encrypted with `rotate()` (`manage.py rotate_secrets` does it for every credential).
"""

from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# cryptography is imported by the first use, not with the models: a command that handles no
# secret (`manage.py help`, `steps`) does not load it.


@cache
def _fernet():
    from cryptography.fernet import Fernet, MultiFernet

    try:
        return MultiFernet([Fernet(key.encode()) for key in settings.FERNET_KEYS])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "JULIEOPS_FERNET_KEYS must hold url-safe base64 Fernet keys, comma-separated"
        ) from exc


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with JULIEOPS_FERNET_KEYS (key removed?)"
        ) from exc


def rotate(token: str) -> str:
    return _fernet().rotate(token.encode()).decode()
