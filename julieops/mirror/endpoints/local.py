"""A local directory tree: scandir listing, kernel copy (copy_file_range/sendfile)."""

import os
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath
from typing import BinaryIO

from .. import treewalk
from ..entry import Entry
from ..localcopy import copy_file, kernel_copy, open_source, write_temp
from ..treewalk import scan, walk
from .base import Endpoint, temp_name

__all__ = ["LocalEndpoint", "TreeWalk", "file_mode", "kernel_copy", "open_source"]

# Filesystems that keep POSIX nanosecond times; anything else gets the 2 s tolerance.
POSIX_FILESYSTEMS = {
    "ext2",
    "ext3",
    "ext4",
    "xfs",
    "btrfs",
    "tmpfs",
    "zfs",
    "f2fs",
    "overlay",
    "jfs",
    "reiserfs",
    "bcachefs",
    "nilfs2",
    "ramfs",
}


def filesystem_type(path: str) -> str:
    """The type of the filesystem holding `path`, from /proc/self/mountinfo ("" if unknown)."""
    best, fstype = "", ""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                left, _, right = line.partition(" - ")
                mount_point = left.split()[4].replace("\\040", " ")
                inside = path == mount_point or path.startswith(mount_point.rstrip("/") + "/")
                if inside and len(mount_point) >= len(best):
                    best, fstype = mount_point, right.split()[0]
    except OSError:
        return ""
    return fstype


def file_mode(entry: Entry) -> int:
    return entry.mode or (0o444 if entry.readonly else 0o644)


class LocalEndpoint(Endpoint):
    scheme = "file"
    # Local work is CPU-bound in Python (listing) or in the kernel (copying): one thread per
    # core measured best; more threads only fight over the GIL.
    default_threads = max(2, min(8, os.cpu_count() or 2))

    def __init__(self, path: str):
        super().__init__(path)
        self.root = os.path.abspath(path)
        real = os.path.realpath(self.root)
        self.exact_times = filesystem_type(real) in POSIX_FILESYSTEMS

    def path(self, rel: str) -> str:
        return os.path.join(self.root, rel) if rel else self.root

    def free_space(self) -> int | None:
        """Bytes free for this user on the filesystem holding the tree (or its parent)."""
        path = self.root
        while path and not os.path.exists(path):
            path = os.path.dirname(path)
        try:
            usage = os.statvfs(path or "/")
        except OSError:
            return None
        return usage.f_frsize * usage.f_bavail

    def location(self) -> tuple:
        return ("file", "", PurePosixPath(os.path.realpath(self.root)).parts)

    def is_root(self) -> bool:
        real = os.path.realpath(self.root)
        return real == os.path.dirname(real) or os.path.ismount(real)

    def exists(self) -> bool:
        return os.path.isdir(self.root)

    def list_dir(self, rel: str) -> list[Entry]:
        return scan(self.path(rel), Entry)

    def tree_walker(self):
        """A whole-tree walker for the planner, or None when `list_dir` was specialised."""
        if type(self).list_dir is not LocalEndpoint.list_dir:
            return None
        return TreeWalk(self.root)

    def open_read(self, rel: str, size: int) -> BinaryIO:
        return os.fdopen(open_source(self.path(rel)), "rb", buffering=0)

    def _write_temp(self, rel: str, fill: Callable[[int], None], entry: Entry) -> None:
        final = self.path(rel)
        tmp = os.path.join(os.path.dirname(final), temp_name(entry.name))
        write_temp(final, tmp, fill, entry.mtime_ns, file_mode(entry))

    def store(self, rel, chunks: Iterator[bytes], entry: Entry, on_bytes=None) -> None:
        def fill(fd):
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                if on_bytes:
                    on_bytes(len(chunk))

        self._write_temp(rel, fill, entry)

    def store_from_local(self, rel: str, source_path: str, entry: Entry, on_bytes=None) -> None:
        final = self.path(rel)
        tmp = os.path.join(os.path.dirname(final), temp_name(entry.name))
        copy_file(source_path, final, tmp, entry.mtime_ns, file_mode(entry), on_bytes)

    def makedirs(self, rel: str) -> None:
        os.makedirs(self.path(rel), exist_ok=True)

    def set_mtime(self, rel: str, mtime_ns: int) -> None:
        os.utime(self.path(rel), ns=(mtime_ns, mtime_ns), follow_symlinks=False)

    def remove_file(self, rel: str) -> None:
        os.unlink(self.path(rel))

    def remove_dir(self, rel: str) -> None:
        os.rmdir(self.path(rel))


class TreeWalk:
    """Lists a whole local tree for the planner, here or in a child process."""

    def __init__(self, root: str):
        self.root = root

    def here(self, patterns: list[str]) -> tuple[dict, dict]:
        return walk(self.root, patterns)  # plain tuples in Entry's order: cheaper to build

    def in_child(self, patterns: list[str]) -> Callable[[], tuple[dict, dict]]:
        """Start listing in a child interpreter; the returned function waits for the result.

        The child only reads (scandir/stat). If it cannot start or fails, the tree is listed
        here instead: the child is a speed-up, never a requirement.
        """
        child = treewalk.take_early(self.root, patterns) or treewalk.start_child(
            self.root, patterns
        )
        if child is None:
            return lambda: self.here(patterns)

        def finish():
            result = child.result()
            # plain tuples in Entry's order (the planner indexes them), or listed here
            return result if result is not None else self.here(patterns)

        return finish
