"""A local directory tree: scandir listing, kernel copy (copy_file_range/sendfile)."""

import contextlib
import errno
import marshal
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath
from typing import BinaryIO

from .. import treewalk
from ..entry import Entry
from ..treewalk import scan, walk
from .base import Endpoint, temp_name

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
COPY_CHUNK = 8 * 1024 * 1024
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
_NOATIME = getattr(os, "O_NOATIME", 0)


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


def open_source(path: str) -> int:
    """Open for reading without touching the access time when the kernel lets us."""
    if _NOATIME:
        with contextlib.suppress(PermissionError):
            return os.open(path, _READ_FLAGS | _NOATIME)
    return os.open(path, _READ_FLAGS)


def kernel_copy(src_fd: int, dst_fd: int, size: int, on_bytes: Callable[[int], None] | None):
    """Copy inside the kernel; copy_file_range may reflink, sendfile is the fallback."""
    use_range = hasattr(os, "copy_file_range")
    done = 0
    while True:
        try:
            if use_range:
                n = os.copy_file_range(src_fd, dst_fd, COPY_CHUNK)
            else:
                n = os.sendfile(dst_fd, src_fd, None, COPY_CHUNK)
        except OSError as exc:
            if use_range and exc.errno in (
                errno.EXDEV,
                errno.ENOSYS,
                errno.EINVAL,
                errno.EOPNOTSUPP,
            ):
                use_range = False
                continue
            raise
        if n == 0:
            return done
        done += n
        if on_bytes:
            on_bytes(n)


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
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            try:
                fill(fd)
                if entry.mtime_ns:
                    os.utime(fd, ns=(entry.mtime_ns, entry.mtime_ns))
                os.fchmod(fd, entry.mode or (0o444 if entry.readonly else 0o644))
            finally:
                os.close(fd)
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

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
        src_fd = open_source(source_path)
        try:
            self._write_temp(rel, lambda fd: kernel_copy(src_fd, fd, entry.size, on_bytes), entry)
        finally:
            os.close(src_fd)

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
        return walk(self.root, patterns, Entry)

    def in_child(self, patterns: list[str]) -> Callable[[], tuple[dict, dict]]:
        """Start listing in a child interpreter; the returned function waits for the result.

        The child only reads (scandir/stat). If it cannot start or fails, the tree is listed
        here instead: the child is a speed-up, never a requirement.
        """
        import subprocess  # only for local trees: not needed by the remote endpoints

        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", treewalk.__file__, self.root, *patterns],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except (OSError, ValueError):
            return lambda: self.here(patterns)

        def finish():
            data = proc.stdout.read()
            proc.stdout.close()
            if proc.wait() != 0:
                return self.here(patterns)
            try:
                listings, errors = marshal.loads(data)  # noqa: S302 - our own child's output
            except (EOFError, ValueError, TypeError):
                return self.here(patterns)
            return listings, errors  # plain tuples in Entry's order: the planner indexes them

        return finish
