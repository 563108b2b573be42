"""Writing into the new server's C: through its transport (SFTP or WinRM), with the same
interface and the same guarantees as the local `TargetWriter`:

- a file is written under a temporary name in its folder and renamed into place once complete
  (the transport's `write_file`), so a partial file never replaces a good one;
- paths are POSIX-style relative to the root; existing components are matched
  case-insensitively like Windows, missing folders are created with the given spelling;
- nothing is written, removed or created outside the root (no `..`, no drive or stream
  separator in a component, no link followed when creating folders);
- only files are removed, and only empty folders.

The reader is a `RemoteTree` whose cached folder listings are dropped as soon as the writer
changes a folder, so a step reading back what it wrote sees the new state.
"""

from __future__ import annotations

import posixpath

from julieops.julietree.reader import find_child, join, resolve
from julieops.remote import RemoteError
from migrations_app.remote_tree import RemoteTree
from migrations_app.steps.registry import StepError

_FORBIDDEN_IN_NAME = ("\\", ":", "\x00")


class _WrittenTree(RemoteTree):
    """A RemoteTree told when its machine's folders change."""

    def forget(self, folder: str) -> None:
        self._listings.pop(join(folder), None)


def _parent(relpath: str) -> str:
    return posixpath.dirname(join(relpath))


class RemoteTargetWriter:
    """Writes into `root` on the machine reached by `transport` (the new server)."""

    def __init__(self, transport, root: str, *, hostname: str = ""):
        self.transport = transport
        self.hostname = hostname or transport.host
        self.reader = _WrittenTree(transport, root, hostname=self.hostname)
        self.root = self.reader.root
        try:
            is_dir = self.reader.is_dir("")
        except RemoteError as exc:
            raise StepError(f"{self.hostname} : lecture de {root} impossible ({exc})") from None
        if not is_dir:
            raise StepError(f"Le dossier de la cible est introuvable : {root} sur {self.hostname}")

    def __repr__(self) -> str:
        return f"RemoteTargetWriter({self.reader.location!r})"

    def close(self) -> None:
        self.transport.close()

    # -- paths ----------------------------------------------------------------------------------

    def _parts(self, relpath: str) -> list[str]:
        parts = [p for p in relpath.replace("\\", "/").split("/") if p]
        for part in parts:
            if part in (".", "..") or any(c in part for c in _FORBIDDEN_IN_NAME):
                raise StepError(f"Chemin hors de la cible refusé : {relpath}")
        if not parts:
            raise StepError(f"Chemin hors de la cible refusé : {relpath!r}")
        return parts

    def _full(self, rel: str) -> str:
        return self.reader._full(rel)

    def _resolve_create(self, relpath: str, *, create: bool) -> str:
        parts = self._parts(relpath)
        current = ""
        for i, part in enumerate(parts):
            found = find_child(self.reader, current, part)
            if found is None:
                found = join(current, part)
                if create and i < len(parts) - 1:
                    self._make_dir(current, found)
            current = found
        return current

    def _make_dir(self, parent: str, rel: str) -> None:
        """Create one folder, then check the parent's fresh listing shows it as a real folder:
        listings leave links and junctions out, so one of those standing in the way (and
        leading who knows where) is refused instead of written through."""
        try:
            self.transport.make_dirs(self._full(rel))
        except RemoteError as exc:
            raise StepError(f"{self.hostname} : {exc}") from None
        self.reader.forget(parent)
        name = rel.rsplit("/", 1)[-1]
        made = next((e for e in self.reader.list_dir(parent) if e.relpath == name), None)
        if made is None or not made.is_dir:
            raise StepError(
                f"{self.hostname} : {self._full(rel)} n'est pas un vrai dossier (lien ?) : "
                "écriture refusée."
            )

    # -- TargetWriter interface -----------------------------------------------------------------

    def write_file(self, relpath: str, content: bytes, mtime: float | None = None) -> str:
        """Write atomically; returns the relative path actually written."""
        rel = self._resolve_create(relpath, create=True)
        if self.reader.is_dir(rel):
            raise StepError(f"{self.hostname} : {self._full(rel)} est un dossier.")
        try:
            self.transport.write_file(self._full(rel), content, mtime=mtime)
        except RemoteError as exc:
            raise StepError(f"{self.hostname} : {exc}") from None
        finally:
            self.reader.forget(_parent(rel))
        return rel

    def remove_file(self, relpath: str) -> bool:
        """Remove one file (never a folder); False when it was already absent."""
        self._parts(relpath)
        rel = resolve(self.reader, relpath)
        if rel is None:
            return False
        if self.reader.is_dir(rel):
            raise StepError(f"Suppression refusée (pas un fichier de la cible) : {relpath}")
        try:
            self.transport.remove_file(self._full(rel))
        except RemoteError as exc:
            raise StepError(f"{self.hostname} : {exc}") from None
        finally:
            self.reader.forget(_parent(rel))
        return True

    def remove_empty_dirs(self, relpath: str) -> None:
        """Remove the empty folders below `relpath` (the folder itself is kept)."""
        self._parts(relpath)
        rel = resolve(self.reader, relpath)
        if rel is None or not self.reader.is_dir(rel):
            return
        entries = list(self.reader.walk(rel))  # links are listed (as non-folders), not entered
        children: dict[str, set[str]] = {"": set()}
        for entry in entries:
            children.setdefault(_parent(entry.relpath), set()).add(entry.relpath)
            if entry.is_dir:
                children.setdefault(entry.relpath, set())
        folders = sorted((e.relpath for e in entries if e.is_dir), key=lambda p: -p.count("/"))
        for folder in folders:
            if children[folder]:
                continue
            full = self._full(join(rel, folder))
            try:
                self.transport.remove_dir(full)
            except RemoteError as exc:
                raise StepError(f"{self.hostname} : {exc}") from None
            finally:
                self.reader.forget(join(rel, _parent(folder)))
            children[_parent(folder)].discard(folder)
