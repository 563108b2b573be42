"""Opening a job's machines for the steps: a read-only tree of its C: drive, a transport."""

import os
import tempfile
from pathlib import Path

from julieops.julietree.reader import LocalTree, find_child, join, resolve
from julieops.julietree.server_register import is_loopback, same_host
from julieops.remote import RemoteError
from migrations_app.choices import Transport
from migrations_app.connections import transport_for
from migrations_app.models import Machine
from migrations_app.remote_tree import RemoteTree
from migrations_app.remote_writer import RemoteTargetWriter
from migrations_app.steps.registry import StepError


def tree_for(machine: Machine):
    """A read-only TreeReader over the machine's C: drive: a local folder, or the machine
    itself through its transport (SFTP or WinRM)."""
    if machine.transport == Transport.LOCAL:
        try:
            return LocalTree(machine.root_path)
        except (NotADirectoryError, FileNotFoundError) as exc:
            raise StepError(
                f"Le dossier qui représente le C: de {machine.hostname} est introuvable : "
                f"{machine.root_path}"
            ) from exc
    root = machine.root_path or "C:/"
    tree = RemoteTree(transport_for(machine), root, hostname=machine.hostname)
    try:
        if not tree.is_dir(""):
            raise StepError(f"{machine.hostname} : {root} n'est pas un dossier.")
    except RemoteError as exc:
        raise StepError(f"{machine.hostname} : lecture des fichiers impossible ({exc})") from None
    return tree


class TargetWriter:
    """Writes into the new server's tree (local transport): files go to a temporary name in the
    same folder and are renamed into place, so a partial file never replaces a good one.
    Refuses a root that is, contains or sits inside the source's root: the source is read-only.
    Paths are POSIX-style relative to the root; existing components are matched
    case-insensitively like Windows, missing ones are created with the given spelling."""

    def __init__(self, root: str, *, forbidden: list[str] = ()):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise StepError(f"Le dossier de la cible est introuvable : {root}")
        for other in forbidden:
            other = Path(other).resolve()
            if self.root == other or other in self.root.parents or self.root in other.parents:
                raise StepError(
                    f"La cible {self.root} recouvre la source {other} : écriture refusée."
                )
        self.reader = LocalTree(self.root)

    def _resolve_create(self, relpath: str, *, create: bool):
        parts = [p for p in relpath.split("/") if p]
        current = ""
        for i, part in enumerate(parts):
            found = find_child(self.reader, current, part)
            if found is None:
                found = join(current, part)
                if create and i < len(parts) - 1:
                    (self.root / found).mkdir()
            current = found
        full = (self.root / current).resolve()
        if full != self.root and self.root not in full.parents:
            raise StepError(f"Chemin hors de la cible refusé : {relpath}")
        return current, full

    def write_file(self, relpath: str, content: bytes, mtime: float | None = None) -> str:
        """Write atomically; returns the relative path actually written."""
        rel, full = self._resolve_create(relpath, create=True)
        fd, tmp = tempfile.mkstemp(prefix=".julieops-", suffix=".tmp", dir=full.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            if mtime is not None:
                os.utime(tmp, (mtime, mtime))
            os.replace(tmp, full)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return rel

    def remove_file(self, relpath: str) -> bool:
        """Remove one file (never a folder); False when it was already absent."""
        rel = resolve(self.reader, relpath)
        if rel is None:
            return False
        full = (self.root / rel).resolve()
        if not full.is_file() or self.root not in full.parents:
            raise StepError(f"Suppression refusée (pas un fichier de la cible) : {relpath}")
        full.unlink()
        return True

    def remove_empty_dirs(self, relpath: str) -> None:
        """Remove the empty folders below `relpath` (the folder itself is kept)."""
        rel = resolve(self.reader, relpath)
        if rel is None:
            return
        base = (self.root / rel).resolve()
        for dirpath, _dirs, _files in sorted(os.walk(base), key=lambda t: -len(t[0])):
            if dirpath != str(base) and not os.listdir(dirpath):
                os.rmdir(dirpath)


def target_writer(job):
    """A writer over the job's new server (`TargetWriter` on a local folder,
    `RemoteTargetWriter` through SSH/WinRM); refuses when it overlaps any other machine of the
    job that holds practice data (the old server, the services hosts): those are read-only."""
    target = job.target
    others = [job.source, *job.extra_hosts.all()]
    if target.transport != Transport.LOCAL:
        return _remote_writer(target, others)
    if not target.root_path:
        raise StepError(f"{target.hostname} : dossier du C: non renseigné.")
    forbidden = [m.root_path for m in others if m.transport == Transport.LOCAL and m.root_path]
    return TargetWriter(target.root_path, forbidden=forbidden)


def _remote_writer(target: Machine, others: list[Machine]):
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
    root = target.root_path or "C:/"
    if is_loopback(target.address):
        # Reached on the worker itself: its folders must not overlap the local machines' ones.
        for other in others:
            if other.transport == Transport.LOCAL and other.root_path:
                mine, theirs = Path(root).resolve(), Path(other.root_path).resolve()
                if mine == theirs or theirs in mine.parents or mine in theirs.parents:
                    raise StepError(
                        f"La cible {mine} recouvre la source {theirs} : écriture refusée."
                    )
    try:
        return RemoteTargetWriter(transport_for(target), root, hostname=target.hostname)
    except RemoteError as exc:
        raise StepError(f"{target.hostname} : connexion impossible ({exc})") from None


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
