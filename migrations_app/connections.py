"""How a worker reaches a machine of a job: a command transport, a mirror endpoint.

Secrets are decrypted here, at the last moment, and handed to the caller for masking."""

from dataclasses import dataclass, field

from django.conf import settings

from julieops.remote import open_transport
from julieops.remote.ssh import load_private_key
from migrations_app.choices import Transport
from migrations_app.models import Machine
from migrations_app.steps.registry import StepError

DEFAULT_SFTP_ROOT = "/C:"  # Windows' OpenSSH SFTP server shows drive C: as /C:


@dataclass
class Access:
    """What opening a machine needs; `secrets` are the values to mask in logs."""

    username: str = ""
    password: str | None = None
    pkey: str | None = None
    secrets: list[str] = field(default_factory=list)


def access_for(machine: Machine) -> Access:
    credential = machine.credential
    if credential is None:
        raise StepError(f"{machine.hostname} : aucun identifiant de connexion n'est associé.")
    secret = credential.secret
    if secret.lstrip().startswith("-----BEGIN"):
        return Access(credential.username, pkey=secret, secrets=[secret])
    return Access(credential.username, password=secret, secrets=[secret])


def _pinned(machine: Machine) -> str:
    if not machine.host_key_fingerprint:
        raise StepError(
            f"{machine.hostname} : l'empreinte de la clé de l'hôte n'est pas confirmée. "
            "Utilisez « Tester la connexion » sur la page du poste, puis faites-la confirmer "
            "par un superviseur."
        )
    return machine.host_key_fingerprint


def transport_for(machine: Machine, *, on_secret=None):
    """A command transport (nothing is contacted until the first call)."""
    if machine.transport == Transport.LOCAL:
        return open_transport("local", machine.hostname)
    access = access_for(machine)
    for secret in access.secrets:
        if on_secret:
            on_secret(secret)
    return open_transport(
        machine.transport,
        machine.address,
        machine.port,
        access.username,
        password=access.password,
        pkey=access.pkey,
        pinned_fingerprint=_pinned(machine),
        **transport_options(machine),
    )


def transport_options(machine: Machine) -> dict:
    """Deployment-wide WinRM settings (authentication, scheme, timeouts)."""
    if machine.transport == Transport.WINRM:
        return dict(getattr(settings, "JULIEOPS_WINRM_OPTIONS", {}))
    return {}


def endpoint_spec(machine: Machine, relpath: str, *, on_secret=None) -> tuple[str, dict]:
    """(url or local path, open_endpoint keyword arguments) for a folder of the machine's C:
    given relative to C: with '/' separators."""
    relpath = relpath.strip("/")
    if machine.transport == Transport.LOCAL:
        if not machine.root_path:
            raise StepError(f"{machine.hostname} : dossier du C: non renseigné.")
        return f"{machine.root_path.rstrip('/')}/{relpath}", {}
    access = access_for(machine)
    for secret in access.secrets:
        if on_secret:
            on_secret(secret)
    if machine.transport == Transport.SSH:
        root = (machine.root_path or DEFAULT_SFTP_ROOT).rstrip("/")
        url = f"sftp://{machine.address}:{machine.port or 22}{root}/{relpath}"
        kwargs = {"username": access.username, "host_key": _pinned(machine)}
        if access.pkey:
            kwargs["pkey"] = load_private_key(access.pkey)
        else:
            kwargs["password"] = access.password
        return url, kwargs
    # WinRM machines: their administrative share C$ over SMB.
    return (
        f"smb://{machine.address}/C$/{relpath}",
        {"username": access.username, "password": access.password},
    )
