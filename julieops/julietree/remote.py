"""A read-only TreeReader over a transport (SSH/SFTP or WinRM), so the inventory steps read a
remote old server exactly as they read a local folder.

Paths given to the reader are POSIX-style relative to the machine's C: (its `root_path`, or
"C:/" on Windows). Folder listings are cached for the reader's life (one step run): lookups
walk the same folders many times, and each WinRM call starts a PowerShell process. `stat`,
`walk` and file reads always ask the machine, so a step comparing a file before and after
reading it sees real changes.
"""

from __future__ import annotations

import contextlib
import posixpath
import stat as statmod
import tempfile
from collections.abc import Iterator
from pathlib import Path

from julieops.julietree.reader import Entry, join
from julieops.remote import RemoteError

# Direct children of one folder (WinRM has list_tree only, which would walk the whole C:).
LIST_DIR = r"""
# julieops-script: files.list_dir
param([string]$Path)
$items = @(Get-ChildItem -LiteralPath $Path -Force | ForEach-Object {
    $isDir = [bool]$_.PSIsContainer
    @{
        n = $_.Name
        s = if ($isDir) { 0 } else { $_.Length }
        m = ([DateTimeOffset]$_.LastWriteTimeUtc).ToUnixTimeMilliseconds() / 1000
        d = $isDir
        l = [bool]($_.Attributes -band [IO.FileAttributes]::ReparsePoint)
    }
})
, $items
"""


class RemoteTree:
    """TreeReader over `transport` rooted at `root` (e.g. "C:/" or "/srv/ancien-c")."""

    def __init__(self, transport, root: str, *, hostname: str = ""):
        self.transport = transport
        self.root = root.replace("\\", "/").rstrip("/") or "/"
        if len(self.root) == 2 and self.root[1] == ":":
            self.root += "/"  # "C:" alone means the current folder of drive C
        self.location = f"{transport.kind}://{hostname or transport.host}/{self.root.lstrip('/')}"
        self._listings: dict[str, list[Entry]] = {}
        self._root_checked = False
        self._root_is_dir = False

    def __repr__(self) -> str:
        return f"RemoteTree({self.location!r})"

    def close(self) -> None:
        self.transport.close()

    def forget(self, path: str) -> None:
        """Drop the cached listing of one folder (a writer changed it)."""
        self._listings.pop(join(path), None)

    def _full(self, path: str) -> str:
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise ValueError(f"chemin hors de l'arborescence : {path!r}")
        return posixpath.join(self.root, *parts) if parts else self.root

    # -- listings -------------------------------------------------------------------------------

    def _list(self, path: str) -> list[Entry]:
        """Direct children (cached); symbolic links and junctions are left out, as LocalTree's
        walk leaves them out: they may loop or lead outside the tree."""
        key = join(path)
        if key not in self._listings:
            self._listings[key] = sorted(
                self._fetch_listing(self._full(key)), key=lambda e: e.relpath
            )
        return self._listings[key]

    def _fetch_listing(self, full: str) -> list[Entry]:
        if hasattr(self.transport, "sftp"):
            sftp = self.transport.sftp()
            try:
                found = sftp.listdir_attr(self.transport._path(full))
            except OSError as exc:
                raise RemoteError(
                    f"Lecture du dossier {full} impossible sur {self.transport.host} ({exc})"
                ) from None
            return [
                Entry(
                    a.filename,
                    statmod.S_ISDIR(a.st_mode or 0),
                    0 if statmod.S_ISDIR(a.st_mode or 0) else int(a.st_size or 0),
                    float(a.st_mtime or 0),
                )
                for a in found
                if not statmod.S_ISLNK(a.st_mode or 0)
            ]
        items = self.transport.powershell(LIST_DIR, {"Path": full}) or []
        if isinstance(items, dict):  # ConvertTo-Json unwraps one-element arrays
            items = [items]
        return [
            Entry(i["n"], bool(i["d"]), int(i["s"] or 0), float(i["m"] or 0))
            for i in items
            if not i.get("l")
        ]

    def _lookup(self, path: str) -> Entry | None:
        parts = [p for p in path.split("/") if p]
        if not parts:
            return None
        parent, name = join(*parts[:-1]), parts[-1]
        if parent and not self.is_dir(parent):
            return None
        return next((e for e in self._list(parent) if e.relpath == name), None)

    # -- TreeReader -----------------------------------------------------------------------------

    def exists(self, path: str) -> bool:
        return self.is_dir("") if not join(path) else self._lookup(path) is not None

    def is_dir(self, path: str) -> bool:
        if not join(path):
            if not self._root_checked:
                self._root_is_dir = self.transport.stat(self.root).is_dir
                self._root_checked = True
            return self._root_is_dir
        entry = self._lookup(path)
        return bool(entry and entry.is_dir)

    def stat(self, path: str) -> Entry:
        key = join(path)
        try:
            found = self.transport.stat(self._full(key))
        except RemoteError:
            # Absent, or the machine could not be reached: a fresh listing of the parent tells
            # which (it raises when the machine is unreachable).
            parts = key.split("/")
            parent = join(*parts[:-1])
            self._listings.pop(parent, None)
            if key and self._lookup(key) is None:
                raise FileNotFoundError(f"{key} introuvable sur {self.location}") from None
            raise
        return Entry(key, found.is_dir, 0 if found.is_dir else found.size, found.mtime)

    def list_dir(self, path: str) -> list[Entry]:
        return list(self._list(path))

    def walk(self, path: str) -> Iterator[Entry]:
        """Parents before children (list_tree sorts by path), links left out."""
        key = join(path)
        entries = self.transport.list_tree(self._full(key))
        for found in entries:
            yield Entry(found.path, found.is_dir, 0 if found.is_dir else found.size, found.mtime)

    def read_bytes(self, path: str) -> bytes:
        return self.transport.read_file(self._full(path))

    @contextlib.contextmanager
    def open_local_copy(self, path: str) -> Iterator[Path]:
        name = [p for p in path.split("/") if p][-1]
        with tempfile.TemporaryDirectory(prefix="julietree-") as tmp:
            target = Path(tmp) / name
            target.write_bytes(self.read_bytes(path))
            for suffix in ("-wal", "-journal"):
                companion = self._lookup(path + suffix)
                if companion is not None and not companion.is_dir:
                    Path(tmp, name + suffix).write_bytes(self.read_bytes(path + suffix))
            yield target
