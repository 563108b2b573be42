"""Copy one file between local trees: kernel copy into a temporary sibling, then rename.

Standard library only, so it also runs as a helper process (`python -I -S localcopy.py`): for a
first copy of many small files, the per-file work (open, copy, utime, chmod, rename) is syscalls
issued one at a time under the GIL; a helper copying part of the list uses the second core.
Protocol: marshalled (src_root, dst_root, retries, wait, [(rel, name, mtime_ns, mode), …]) on
stdin; marshalled lists of (rel, error or None, [retry errors]) on stdout as files are done.
"""

import contextlib
import errno
import itertools
import marshal
import os
import signal
import sys
import time

TEMP_PREFIX = ".~julieops-"
TEMP_SUFFIX = ".part"
COPY_CHUNK = 8 * 1024 * 1024
REPORT_EVERY = 64  # files per progress message from the helper
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_NOATIME = getattr(os, "O_NOATIME", 0)


def open_source(path: str) -> int:
    """Open for reading without touching the access time when the kernel lets us."""
    if _NOATIME:
        with contextlib.suppress(PermissionError):
            return os.open(path, _READ_FLAGS | _NOATIME)
    return os.open(path, _READ_FLAGS)


def kernel_copy(src_fd: int, dst_fd: int, size: int = 0, on_bytes=None) -> int:
    """Copy inside the kernel until EOF; copy_file_range may reflink, sendfile is the fallback."""
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


def write_temp(final: str, tmp: str, fill, mtime_ns: int, mode: int) -> None:
    """Write through `fill(fd)` into `tmp`, set time and mode on the open file, rename to `final`.

    No fsync: like robocopy, a file is complete once renamed; a crash loses at most files that
    the next run copies again, and a partial file never carries a real name.
    """
    fd = os.open(tmp, _WRITE_FLAGS, 0o600)
    try:
        try:
            fill(fd)
            if mtime_ns:
                os.utime(fd, ns=(mtime_ns, mtime_ns))
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def copy_file(src: str, final: str, tmp: str, mtime_ns: int, mode: int, on_bytes=None) -> None:
    src_fd = open_source(src)
    try:
        write_temp(final, tmp, lambda fd: kernel_copy(src_fd, fd, 0, on_bytes), mtime_ns, mode)
    finally:
        os.close(src_fd)


# Full, read-only, over quota: no retry helps; the engine ends the run (engine.no_room).
NO_ROOM = {errno.ENOSPC, errno.EROFS, errno.EDQUOT}


def _stop(signum, frame):
    raise SystemExit(1)  # unwinds through write_temp, which removes its temporary file


def main() -> int:
    signal.signal(signal.SIGTERM, _stop)
    src_root, dst_root, retries, wait, jobs = marshal.load(sys.stdin.buffer)  # noqa: S302
    out = sys.stdout.buffer
    counter = itertools.count(1)
    prefix = f"{TEMP_PREFIX}{os.getpid()}-"
    done = []
    for rel, name, mtime_ns, mode in jobs:
        final = os.path.join(dst_root, rel)
        retried = []
        for attempt in range(retries + 1):
            temp = f"{prefix}{next(counter)}-{name[:80]}{TEMP_SUFFIX}"
            tmp = os.path.join(os.path.dirname(final), temp)
            try:
                copy_file(os.path.join(src_root, rel), final, tmp, mtime_ns, mode)
                error = None
                break
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                no_room = isinstance(exc, OSError) and exc.errno in NO_ROOM
                if no_room:
                    break
                if attempt < retries:
                    retried.append(error)
                    time.sleep(wait)
        done.append((rel, error, retried))
        if error and no_room:  # the destination takes nothing more: report and stop
            break
        if len(done) >= REPORT_EVERY:
            marshal.dump(done, out)
            out.flush()
            done = []
    if done:
        marshal.dump(done, out)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
