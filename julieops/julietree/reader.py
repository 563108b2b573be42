"""Read-only access to a machine's tree (a folder standing for its C: drive).

Inspection code only talks to a `TreeReader`, so the same checks run on a local folder today
and through SFTP/SMB/WinRM transports later. Paths are POSIX-style, relative to the tree root
("Juliew/Datas/server.register"); "" is the root. Windows names are case-insensitive, so
lookups go through `find_child`, never through exact-case joins.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat as stat_mod
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Entry:
    """One file or folder: `relpath` is relative to the folder that was walked or listed."""

    relpath: str
    is_dir: bool
    size: int
    mtime: float


@runtime_checkable
class TreeReader(Protocol):
    """The only operations inspection needs. Implementations must never write to the tree."""

    location: str  # human description of the root, for messages ("/srv/c", "sftp://host/C:")

    def exists(self, path: str) -> bool: ...

    def is_dir(self, path: str) -> bool: ...

    def stat(self, path: str) -> Entry:
        """Entry of `path` itself (relpath = path); FileNotFoundError when absent."""
        ...

    def list_dir(self, path: str) -> list[Entry]:
        """Direct children, relpath = child name."""
        ...

    def walk(self, path: str) -> Iterator[Entry]:
        """Every file and folder below `path`, relpath relative to `path`, parents first."""
        ...

    def read_bytes(self, path: str) -> bytes: ...

    def open_local_copy(self, path: str) -> contextlib.AbstractContextManager[Path]:
        """A private local copy of a file (with its SQLite -wal/-journal companions when
        present), deleted on exit. SQLite and zipfile work on that copy, so nothing they do
        (hot-journal recovery, -shm files) can reach the source."""
        ...


def join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def find_child(reader: TreeReader, parent: str, name: str) -> str | None:
    """Path of `parent`'s child called `name`, compared case-insensitively like Windows."""
    if not reader.is_dir(parent):
        return None
    wanted = name.casefold()
    matches = sorted(e.relpath for e in reader.list_dir(parent) if e.relpath.casefold() == wanted)
    if not matches:
        return None
    # An exact-case match wins when a case-sensitive copy holds both spellings.
    return join(parent, name if name in matches else matches[0])


def resolve(reader: TreeReader, path: str) -> str | None:
    """Resolve a path component by component, case-insensitively; None when absent."""
    current = ""
    for part in [p for p in path.split("/") if p]:
        found = find_child(reader, current, part)
        if found is None:
            return None
        current = found
    return current


def windows_path(relpath: str, host: str | None = None) -> str:
    """How a technician reads the path: C:\\Juliew\\Datas, or \\\\HOST\\C$\\... on another host."""
    tail = relpath.replace("/", "\\")
    if host:
        return f"\\\\{host}\\C$\\{tail}" if tail else f"\\\\{host}\\C$"
    return f"C:\\{tail}"


class LocalTree:
    """A tree on the local filesystem. Opens files for reading only; follows no symlink out."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise NotADirectoryError(f"{self.root} n'est pas un dossier")
        self.location = str(self.root)

    def __repr__(self) -> str:
        return f"LocalTree({self.location!r})"

    def _path(self, path: str) -> Path:
        full = (self.root / path).resolve() if path else self.root
        if full != self.root and self.root not in full.parents:
            raise ValueError(f"chemin hors de l'arborescence : {path!r}")
        return full

    def forget(self, path: str) -> None:
        """Nothing cached: every call reads the disk."""

    def exists(self, path: str) -> bool:
        return self._path(path).exists()

    def is_dir(self, path: str) -> bool:
        return self._path(path).is_dir()

    @staticmethod
    def _entry(relpath: str, st: os.stat_result) -> Entry:
        is_dir = stat_mod.S_ISDIR(st.st_mode)
        return Entry(relpath, is_dir, 0 if is_dir else st.st_size, st.st_mtime)

    def stat(self, path: str) -> Entry:
        return self._entry(path, self._path(path).stat())

    def list_dir(self, path: str) -> list[Entry]:
        with os.scandir(self._path(path)) as it:
            return sorted(
                (self._entry(e.name, e.stat(follow_symlinks=False)) for e in it),
                key=lambda e: e.relpath,
            )

    def walk(self, path: str) -> Iterator[Entry]:
        base = self._path(path)
        stack = [""]
        while stack:
            rel = stack.pop()
            with os.scandir(base / rel if rel else base) as it:
                children = sorted(it, key=lambda e: e.name)
            for child in children:
                st = child.stat(follow_symlinks=False)
                if stat_mod.S_ISLNK(st.st_mode):
                    continue
                entry = self._entry(join(rel, child.name), st)
                yield entry
                if entry.is_dir:
                    stack.append(entry.relpath)

    def read_bytes(self, path: str) -> bytes:
        with open(self._path(path), "rb") as f:
            return f.read()

    @contextlib.contextmanager
    def open_local_copy(self, path: str) -> Iterator[Path]:
        source = self._path(path)
        with tempfile.TemporaryDirectory(prefix="julietree-") as tmp:
            target = Path(tmp) / source.name
            shutil.copyfile(source, target)
            for suffix in ("-wal", "-journal"):
                companion = source.with_name(source.name + suffix)
                if companion.is_file():
                    shutil.copyfile(companion, target.with_name(target.name + suffix))
            yield target
