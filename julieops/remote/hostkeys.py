"""Fingerprints of SSH host keys and TLS certificates, for pinning machines.

First contact: fetch the fingerprint without authenticating, show it on the machine page, and
let a supervisor confirm it against the machine itself. Afterwards only that key is accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import ssl

from julieops.paramiko_lean import paramiko
from julieops.remote.base import ConnectionFailed, HostKeyChanged, HostKeyUnconfirmed


def ssh_fingerprint(key: paramiko.PKey) -> str:
    """`SHA256:…` exactly as `ssh-keygen -lf` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def same_fingerprint(a: str, b: str) -> bool:
    return hmac.compare_digest(normalize_fingerprint(a), normalize_fingerprint(b))


def normalize_fingerprint(value: str) -> str:
    value = value.strip()
    if value.upper().startswith("SHA256:"):
        return "SHA256:" + value[7:].rstrip("=")
    # TLS certificate fingerprints: hex, with or without colons, any case.
    return value.replace(":", "").replace(" ", "").lower()


def fetch_ssh_host_key(host: str, port: int = 22, timeout: float = 10.0) -> tuple[str, str]:
    """(key type, fingerprint) offered by an SSH server, without authenticating."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise ConnectionFailed(f"Connexion SSH impossible à {host}:{port} ({exc})") from None
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
        return key.get_name(), ssh_fingerprint(key)
    except paramiko.SSHException as exc:
        raise ConnectionFailed(f"Échange SSH impossible avec {host}:{port} ({exc})") from None
    finally:
        transport.close()


class PinnedFingerprintPolicy(paramiko.MissingHostKeyPolicy):
    """Accept exactly one host key, named by its SHA256 fingerprint; refuse anything else.

    With no confirmed fingerprint, refuse too, carrying the observed one so the page can
    show it for confirmation."""

    def __init__(self, expected: str | None):
        self.expected = expected

    def missing_host_key(self, client, hostname, key):
        observed = ssh_fingerprint(key)
        if not self.expected:
            raise HostKeyUnconfirmed(
                f"Première connexion à {hostname} : empreinte de la clé SSH {observed} à "
                "confirmer sur la fiche de la machine.",
                observed,
                None,
            )
        if not same_fingerprint(observed, self.expected):
            raise HostKeyChanged(
                f"La clé SSH de {hostname} a changé (reçue {observed}, confirmée "
                f"{self.expected}) : connexion refusée.",
                observed,
                self.expected,
            )
        client.get_host_keys().add(hostname, key.get_name(), key)


def certificate_fingerprint(der: bytes) -> str:
    """SHA-256 of a DER certificate, as colon-separated upper-case hex."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def fetch_certificate_fingerprint(host: str, port: int = 5986, timeout: float = 10.0) -> str:
    """SHA-256 fingerprint of the certificate a TLS server presents (first contact only: the
    certificate is not trusted here, merely shown for confirmation)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # reading the certificate to display it, not trusting it
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as sock,
            context.wrap_socket(sock, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except OSError as exc:
        raise ConnectionFailed(f"Connexion TLS impossible à {host}:{port} ({exc})") from None
    return certificate_fingerprint(der)
