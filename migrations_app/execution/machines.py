"""How a worker reaches a machine of a job: a command transport, a mirror endpoint, a read-only
tree of its C: drive, a writer into the new server. The one place that opens machines.

Secrets are decrypted here, at the last moment, and handed to the caller for masking.

A machine marked `simulated` is a post of the training practice's simulator (`python -m
training`): its commands go over the real WinRM protocol (HTTPS, pinned certificate, HTTP
Basic: all the simulator speaks) to the simulator on loopback, and so do its trees and its
writer (the `files.*` scripts, which the simulator answers from the post's folder): what a step
reads of a simulated post is then captured and replayed like a real post's. SMB is not
simulated, so only its mirror endpoints are reached through its simulator folder as a local
endpoint: `root_path`, the folder standing for its C:, under JULIEOPS_TRAINING_ROOTS. Only
`manage.py demo` sets the flag (no form edits it), and the branch refuses a simulated machine
that is not WinRM on a loopback address, so a real machine never takes it."""

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from julieops.julietree.reader import LocalTree
from julieops.julietree.remote import RemoteTree
from julieops.julietree.server_register import is_loopback, same_host
from julieops.julietree.writer import WriteRefused, local_writer, remote_writer
from julieops.remote import RemoteError, open_transport
from migrations_app.choices import Transport
from migrations_app.execution import capture
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


def local_root_allowed(root: str) -> str:
    """`root` when it is, or sits under, a folder of JULIEOPS_LOCAL_ROOTS (symbolic links
    resolved); ValueError otherwise: a `local` machine must not name any folder of the worker."""
    if not root:
        raise ValueError("dossier du C: non renseigné.")
    path = Path(root).resolve()
    for allowed in settings.JULIEOPS_LOCAL_ROOTS:
        base = Path(allowed).resolve()
        if path == base or base in path.parents:
            return root
    raise ValueError(
        f"le dossier {root} n'est pas sous un dossier autorisé pour les postes locaux "
        "(JULIEOPS_LOCAL_ROOTS)."
    )


def simulated_root(machine: Machine) -> str:
    """A simulated post's folder for C: (StepError unless the machine is a WinRM post on
    loopback whose folder sits under JULIEOPS_TRAINING_ROOTS)."""
    if machine.transport != Transport.WINRM or not _loopback_address(machine.address):
        raise StepError(
            f"{machine.hostname} : poste simulé hors du simulateur (WinRM sur la boucle locale "
            "seulement) : refusé."
        )
    root = machine.root_path or ""
    path = Path(root).resolve() if root else None
    for allowed in getattr(settings, "JULIEOPS_TRAINING_ROOTS", []):
        base = Path(allowed).resolve()
        if path is not None and base in path.parents:
            return root
    raise StepError(
        f"{machine.hostname} : le dossier du poste simulé {root or '(vide)'} n'est pas sous "
        "JULIEOPS_TRAINING_ROOTS : refusé."
    )


def _loopback_address(address: str | None) -> bool:
    """127.0.0.0/8 or ::1 (the simulator gives each post its own loopback address)."""
    try:
        return ipaddress.ip_address((address or "").strip()).is_loopback
    except ValueError:
        return False


def _files_local(machine: Machine) -> bool:
    """Its mirror endpoints are a folder of the worker: a `local` machine, or a simulated post
    (SMB is not simulated)."""
    return machine.transport == Transport.LOCAL or machine.simulated


def _files_root(machine: Machine) -> str:
    return simulated_root(machine) if machine.simulated else local_root(machine)


def access_for(machine: Machine) -> Access:
    credential = machine.credential
    if credential is None:
        raise StepError(f"{machine.hostname} : aucun identifiant de connexion n'est associé.")
    secret = credential.secret
    if secret.lstrip().startswith("-----BEGIN"):
        return Access(credential.username, pkey=secret, secrets=[secret])
    return Access(credential.username, password=secret, secrets=[secret])


def _pinned(machine: Machine) -> str:
    """The confirmed fingerprint, for the address, port and transport it was confirmed for
    (StepError otherwise: nothing is contacted, no credential leaves)."""
    if not machine.is_confirmed():
        raise StepError(
            f"{machine.hostname} : l'empreinte de la clé de l'hôte n'est pas confirmée. "
            "Utilisez « Tester la connexion » sur la page du poste, puis faites-la confirmer "
            "par un superviseur."
        )
    return machine.host_key_fingerprint


def transport_for(machine: Machine, *, on_secret=None):
    """A command transport (nothing is contacted until the first call)."""
    if machine.transport == Transport.LOCAL:
        return capture.watch(open_transport("local", machine.hostname), machine)
    replayed = capture.replacement(machine)
    if replayed is not None:  # replaying a field capture: its outputs answer, nothing is reached
        return replayed
    access = access_for(machine)
    for secret in access.secrets:
        if on_secret:
            on_secret(secret)
    transport = open_transport(
        machine.transport,
        machine.address,
        machine.port,
        access.username,
        password=access.password,
        pkey=access.pkey,
        pinned_fingerprint=_pinned(machine),
        **transport_options(machine),
    )
    return capture.watch(transport, machine)  # kept for field captures while a run records


def transport_options(machine: Machine) -> dict:
    """Deployment-wide WinRM settings (authentication, scheme, timeouts); the simulator speaks
    HTTP Basic over HTTPS only."""
    if machine.transport == Transport.WINRM:
        options = dict(getattr(settings, "JULIEOPS_WINRM_OPTIONS", {}))
        if machine.simulated:
            simulated_root(machine)
            options.update(scheme="https", auth="basic")
        return options
    return {}


def endpoint_spec(
    machine: Machine, relpath: str, *, drive: str = "C:", on_secret=None
) -> tuple[str, dict]:
    """(url or local path, open_endpoint keyword arguments) for a folder of one of the
    machine's drives (C: by default) given relative to that drive with '/' separators. Another
    drive than C: is found as `drive_trees` finds it (a sibling folder on a local or SSH
    machine, the administrative share D$… on a WinRM one)."""
    relpath = relpath.strip("/")
    drive = drive.upper().rstrip(":") + ":"
    if _files_local(machine):
        base = _files_root(machine) if drive == "C:" else _local_drive(machine, drive)
        return f"{base.rstrip('/')}/{relpath}", {}
    access = access_for(machine)
    for secret in access.secrets:
        if on_secret:
            on_secret(secret)
    if machine.transport == Transport.SSH:
        root = (machine.root_path or DEFAULT_SFTP_ROOT).rstrip("/")
        if drive != "C:":
            root = _sibling_drive(machine, root, drive)
        url = f"sftp://{machine.address}:{machine.port or 22}{root}/{relpath}"
        kwargs = {"username": access.username, "host_key": _pinned(machine)}
        if access.pkey:
            from julieops.remote.ssh import load_private_key  # paramiko: only for SSH

            kwargs["pkey"] = load_private_key(access.pkey)
        else:
            kwargs["password"] = access.password
        return url, kwargs
    # WinRM machines: their administrative share C$ over SMB. SMB has no host key: it goes
    # only to the address whose WinRM certificate a superviseur confirmed, signed.
    confirmed_address(machine)
    return (
        f"smb://{machine.address}/{drive[0]}$/{relpath}",
        {"username": access.username, "password": access.password},
    )


def _sibling_drive(machine: Machine, root: str, drive: str) -> str:
    """The folder standing for `drive` beside a root standing for C: (`…/C` → `…/D`, `/C:` →
    `/D:`, the spelling of C's folder kept); StepError when the root does not stand for C:."""
    parent, _, name = root.replace("\\", "/").rstrip("/").rpartition("/")
    if name.upper().rstrip(":") != "C":
        raise StepError(
            f"{machine.hostname} : son dossier racine ({root}) ne représente que le C: ; le "
            f"lecteur {drive} n'y est pas joignable."
        )
    return f"{parent}/{drive[0]}{':' if name.endswith(':') else ''}"


def _local_drive(machine: Machine, drive: str) -> str:
    """A local machine's folder for `drive` (a sibling of its C folder, named `D` or `D:`),
    under JULIEOPS_LOCAL_ROOTS; StepError when it has none."""
    root = Path(_files_root(machine))
    if root.name.upper().rstrip(":") == "C":
        for name in (drive[0], drive, drive[0].lower(), drive.lower()):
            candidate = root.parent / name
            if candidate.is_dir():
                if machine.simulated:  # beside a folder already checked under the training roots
                    return str(candidate)
                try:
                    return local_root_allowed(str(candidate))
                except ValueError as exc:
                    raise StepError(f"{machine.hostname} : {exc}") from None
    raise StepError(f"{machine.hostname} : pas de lecteur {drive}.")


def drive_letters(machine: Machine) -> list[str]:
    """The fixed drives of the machine ("C:", "D:"…), as `drive_trees` finds them (a WinRM
    machine is only asked for its list)."""
    if machine.transport == Transport.WINRM:
        return ["C:", *[d for d in _fixed_drives(machine) if d != "C:"]]
    return [letter for letter, _tree in drive_trees(machine)]


def confirmed_address(machine: Machine) -> str:
    """The address a credential may be sent to over SMB (C$, robocopy's share mapping): the
    machine's, once its WinRM certificate is confirmed for that very address."""
    _pinned(machine)
    if machine.transport != Transport.WINRM or not machine.address:
        raise StepError(
            f"{machine.hostname} : le partage C$ n'est joint qu'à l'adresse d'un poste WinRM "
            "dont le certificat a été confirmé."
        )
    return machine.address


def local_root(machine: Machine) -> str:
    """A local machine's root, refused unless under JULIEOPS_LOCAL_ROOTS."""
    try:
        return local_root_allowed(machine.root_path or "")
    except ValueError as exc:
        raise StepError(f"{machine.hostname} : {exc}") from None


def tree_for(machine: Machine):
    """A read-only TreeReader over the machine's C: drive: a local folder, or the machine
    itself through its transport (SFTP or WinRM)."""
    if machine.transport == Transport.LOCAL and not machine.simulated:
        try:
            return LocalTree(local_root(machine))
        except (NotADirectoryError, FileNotFoundError) as exc:
            raise StepError(
                f"Le dossier qui représente le C: de {machine.hostname} est introuvable : "
                f"{machine.root_path}"
            ) from exc
    root = _remote_root(machine)
    tree = RemoteTree(transport_for(machine), root, hostname=machine.hostname)
    try:
        if not tree.is_dir(""):
            raise StepError(f"{machine.hostname} : {root} n'est pas un dossier.")
    except RemoteError as exc:
        raise StepError(f"{machine.hostname} : lecture des fichiers impossible ({exc})") from None
    return tree


# The fixed drives of a Windows machine (DriveType 3), its system drive first.
FIXED_DRIVES = r"""
# julieops-script: machine.fixed_drives
param()
@(Get-CimInstance Win32_LogicalDisk -Filter 'DriveType=3' | ForEach-Object { $_.DeviceID })
"""
DRIVE_NAME = re.compile(r"^[A-Za-z]:?$")


def _remote_root(machine: Machine) -> str:
    """Where a machine's C: starts for its transport: a simulated post's `root_path` is the
    simulator's folder on the worker, so it is asked for C: like a Windows server."""
    if machine.simulated:
        simulated_root(machine)  # refused off loopback or off the training roots
        return "C:/"
    return machine.root_path or "C:/"


def drive_trees(machine: Machine) -> list[tuple[str, object]]:
    """("C:", tree), ("D:", tree)…: a read-only tree of every fixed drive of the machine, C:
    first. A WinRM machine is asked for its fixed drives. A local or SSH machine whose root
    (the folder standing for its C:) is named `C` or `C:` has its other drives beside it, in
    sibling folders named with one letter (`D`, `E:`…): the demo's `ancien-serveur/C` has its
    D: in `ancien-serveur/D`. Any other root stands for C: alone."""
    main = tree_for(machine)
    drives = [("C:", main)]
    if machine.transport == Transport.WINRM:
        for letter in _fixed_drives(machine):
            if letter != "C:":
                drives.append((letter, _remote_tree(machine, f"{letter}/")))
        return drives
    root = (machine.root_path or "").replace("\\", "/").rstrip("/")
    parent, _, name = root.rpartition("/")
    if name.upper().rstrip(":") != "C":
        return drives
    if _files_local(machine):
        siblings = [p.name for p in Path(parent or "/").iterdir() if p.is_dir()]
    else:
        siblings = [
            e.relpath for e in _remote_tree(machine, parent or "/").list_dir("") if e.is_dir
        ]
    for sibling in sorted(siblings, key=str.upper):
        letter = sibling.upper().rstrip(":") + ":"
        if DRIVE_NAME.match(sibling) and letter != "C:":
            where = f"{parent}/{sibling}"
            tree = LocalTree(where) if _files_local(machine) else _remote_tree(machine, where)
            drives.append((letter, tree))
    return drives


def _fixed_drives(machine: Machine) -> list[str]:
    """A WinRM machine's fixed drives ("C:", "D:"…) as Windows lists them."""
    transport = transport_for(machine)
    try:
        letters = transport.powershell(FIXED_DRIVES, {}) or []
    except RemoteError as exc:
        raise StepError(f"{machine.hostname} : lecteurs illisibles ({exc})") from None
    finally:
        transport.close()
    found = []
    for letter in [letters] if isinstance(letters, str) else letters:
        letter = str(letter).upper().rstrip("\\")
        if DRIVE_NAME.match(letter):
            found.append(letter if letter.endswith(":") else letter + ":")
    return found


def _remote_tree(machine: Machine, root: str) -> RemoteTree:
    return RemoteTree(transport_for(machine), root, hostname=machine.hostname)


def target_writer(job):
    """A writer over the job's new server (a local folder, or the machine through SSH/WinRM);
    refuses when it overlaps any other machine of the job that holds practice data (the old
    server, the services hosts): those are read-only."""
    target = job.target
    others = [job.source, *job.extra_hosts.all()]
    try:
        if target.transport == Transport.LOCAL and not target.simulated:
            local_root(target)
            _refuse_overlap(target.root_path, others)
            return local_writer(target.root_path)
        _refuse_same_machine(target, others)
        root = _remote_root(target)
        if target.simulated:
            _refuse_overlap(target.root_path, others)  # its folder is on the worker
        elif is_loopback(target.address):
            # Reached on the worker itself: its folders must not overlap the local machines'.
            _refuse_overlap(root, others)
        return remote_writer(transport_for(target), root, hostname=target.hostname)
    except WriteRefused as exc:
        raise StepError(str(exc)) from None
    except RemoteError as exc:
        raise StepError(f"{target.hostname} : connexion impossible ({exc})") from None


def _refuse_overlap(root: str, others: list[Machine]) -> None:
    """A root that is, contains or sits inside a local (or simulated) machine's root is
    refused."""
    mine = Path(root).resolve()
    for other in others:
        if _files_local(other) and other.root_path:
            theirs = Path(other.root_path).resolve()
            if mine == theirs or theirs in mine.parents or mine in theirs.parents:
                raise StepError(f"La cible {mine} recouvre la source {theirs} : écriture refusée.")


def _refuse_same_machine(target: Machine, others: list[Machine]) -> None:
    for other in others:
        same_address = (
            other.transport != Transport.LOCAL
            and bool(other.address)
            and other.address.casefold() == target.address.casefold()
        )
        if same_host(other.hostname, target.hostname) or same_address:
            raise StepError(
                f"La cible {target.hostname} ({target.address}) est la même machine que "
                f"{other.hostname} ({other.address or other.get_transport_display()}), dont les "
                "données sont en lecture seule : écriture refusée."
            )


def job_machines(job) -> list[Machine]:
    """Every machine of the job except the new server: old server, other hosts, clients."""
    seen, result = set(), []
    for machine in [job.source, *job.extra_hosts.all(), *job.clients.all()]:
        if machine.pk not in seen:
            seen.add(machine.pk)
            result.append(machine)
    return result


def machine_named(job, host: str) -> Machine | None:
    """The job's machine whose hostname matches `host` (case-insensitive, short names equal
    their FQDN), or None."""
    return next((m for m in job_machines(job) if same_host(m.hostname, host)), None)
