"""Writing into a machine's tree (the new server's C:): one writer, whether the tree is a local
folder or a machine reached through a transport (SFTP, WinRM), with the same guarantees:

- a file is written by the transport's `write_file`, under a temporary name in its folder and
  renamed into place once complete, so a partial file never replaces a good one (the one atomic
  write: `julieops.remote.local` for a local folder, the SFTP and PowerShell ones otherwise);
- paths are POSIX-style relative to the root; existing components are matched
  case-insensitively like Windows, missing folders are created with the given spelling;
- nothing is written, removed or created outside the root (no `..`, no drive or stream
  separator in a component, no link or junction followed);
- only files are removed, and only empty folders.

The reader is the tree's TreeReader; its cached folder listings are dropped as soon as the
writer changes a folder, so a step reading back what it wrote sees the new state.
"""

from __future__ import annotations

import posixpath

from julieops.julietree.reader import LocalTree, find_child, join, resolve
from julieops.julietree.remote import RemoteTree
from julieops.remote import RemoteError
from julieops.remote.local import LocalTransport

_FORBIDDEN_IN_NAME = ("\\", ":", "\x00")


class WriteRefused(Exception):
    """The write would break a guarantee above, or the machine refused it (French message)."""


def _parent(relpath: str) -> str:
    return posixpath.dirname(join(relpath))


class TreeWriter:
    """Writes into the tree `reader` reads, through `transport`."""

    def __init__(self, transport, reader, *, hostname: str = ""):
        self.transport = transport
        self.reader = reader
        self.hostname = hostname or getattr(transport, "host", "") or "poste local"
        self.root = str(reader.root)
        try:
            is_dir = reader.is_dir("")
        except RemoteError as exc:
            raise WriteRefused(
                f"{self.hostname} : lecture de {self.root} impossible ({exc})"
            ) from None
        if not is_dir:
            raise WriteRefused(f"Le dossier de la cible est introuvable : {self.root}")

    def __repr__(self) -> str:
        return f"TreeWriter({self.reader.location!r})"

    def close(self) -> None:
        self.transport.close()

    # -- paths ----------------------------------------------------------------------------------

    def _parts(self, relpath: str) -> list[str]:
        parts = [p for p in relpath.replace("\\", "/").split("/") if p]
        for part in parts:
            if part in (".", "..") or any(c in part for c in _FORBIDDEN_IN_NAME):
                raise WriteRefused(f"Chemin hors de la cible refusé : {relpath}")
        if not parts:
            raise WriteRefused(f"Chemin hors de la cible refusé : {relpath!r}")
        return parts

    def _full(self, rel: str) -> str:
        return posixpath.join(self.root, *rel.split("/")) if rel else self.root

    def _resolve(self, relpath: str) -> str | None:
        self._parts(relpath)
        try:
            return resolve(self.reader, relpath)
        except ValueError:  # a local link leading out of the root
            raise WriteRefused(f"Chemin hors de la cible refusé : {relpath}") from None

    def _listed(self, rel: str):
        """The reader's listing entry of `rel` (None when absent)."""
        parent, name = _parent(rel), rel.rsplit("/", 1)[-1]
        return next((e for e in self.reader.list_dir(parent) if e.relpath == name), None)

    def _resolve_create(self, relpath: str, *, create: bool) -> str:
        parts = self._parts(relpath)
        current = ""
        for i, part in enumerate(parts):
            found = find_child(self.reader, current, part)
            last = i == len(parts) - 1
            if found is None:
                found = join(current, part)
                if create and not last:
                    self._make_dir(current, found)
            elif not last:
                self._refuse_unless_folder(found)
            current = found
        return current

    def _refuse_unless_folder(self, rel: str) -> None:
        """A component on the way must be a real folder: listings show links and junctions as
        something else (or leave them out), and one of those may lead who knows where."""
        entry = self._listed(rel)
        if entry is None or not entry.is_dir:
            raise WriteRefused(
                f"{self.hostname} : {self._full(rel)} n'est pas un vrai dossier (lien ?) : "
                "écriture refusée."
            )

    def _make_dir(self, parent: str, rel: str) -> None:
        """Create one folder, then check the parent's fresh listing shows it as a real folder."""
        try:
            self.transport.make_dirs(self._full(rel))
        except RemoteError as exc:
            raise WriteRefused(f"{self.hostname} : {exc}") from None
        self.reader.forget(parent)
        self._refuse_unless_folder(rel)

    # -- writing --------------------------------------------------------------------------------

    def write_file(self, relpath: str, content: bytes, mtime: float | None = None) -> str:
        """Write atomically; returns the relative path actually written."""
        rel = self._resolve_create(relpath, create=True)
        entry = self._listed(rel)
        if entry is not None and entry.is_dir:
            raise WriteRefused(f"{self.hostname} : {self._full(rel)} est un dossier.")
        try:
            self.transport.write_file(self._full(rel), content, mtime=mtime)
        except RemoteError as exc:
            raise WriteRefused(f"{self.hostname} : {exc}") from None
        finally:
            self.reader.forget(_parent(rel))
        return rel

    def remove_file(self, relpath: str) -> bool:
        """Remove one file (never a folder); False when it was already absent."""
        rel = self._resolve(relpath)
        if rel is None:
            return False
        entry = self._listed(rel)
        if entry is None or entry.is_dir:
            raise WriteRefused(f"Suppression refusée (pas un fichier de la cible) : {relpath}")
        try:
            self.transport.remove_file(self._full(rel))
        except RemoteError as exc:
            raise WriteRefused(f"{self.hostname} : {exc}") from None
        finally:
            self.reader.forget(_parent(rel))
        return True

    def remove_empty_dirs(self, relpath: str) -> None:
        """Remove the empty folders below `relpath` (the folder itself is kept)."""
        rel = self._resolve(relpath)
        if rel is None or not self.reader.is_dir(rel):
            return
        entries = list(self.reader.walk(rel))  # links are left out, never entered
        children: dict[str, set[str]] = {"": set()}
        for entry in entries:
            children.setdefault(_parent(entry.relpath), set()).add(entry.relpath)
            if entry.is_dir:
                children.setdefault(entry.relpath, set())
        folders = sorted((e.relpath for e in entries if e.is_dir), key=lambda p: -p.count("/"))
        for folder in folders:
            if children[folder]:
                continue
            try:
                self.transport.remove_dir(self._full(join(rel, folder)))
            except RemoteError as exc:
                raise WriteRefused(f"{self.hostname} : {exc}") from None
            finally:
                self.reader.forget(join(rel, _parent(folder)))
            children[_parent(folder)].discard(folder)


def local_writer(root: str) -> TreeWriter:
    """A writer over a folder of this machine."""
    try:
        reader = LocalTree(root)
    except (NotADirectoryError, FileNotFoundError):
        raise WriteRefused(f"Le dossier de la cible est introuvable : {root}") from None
    return TreeWriter(LocalTransport(), reader)


def remote_writer(transport, root: str, *, hostname: str = "") -> TreeWriter:
    """A writer over `root` ("C:/", "/srv/c") on the machine reached by `transport`."""
    hostname = hostname or transport.host
    return TreeWriter(transport, RemoteTree(transport, root, hostname=hostname), hostname=hostname)
