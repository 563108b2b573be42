"""Walk a whole local tree: one scandir and one stat per name, nothing else.

Standard library only, so it also runs as a script (`python -I -S treewalk.py ROOT [PATTERN…]`,
marshalled result on stdout): the engine lists the destination in such a child process while it
lists the source itself. Listing is mostly stat() calls made one at a time under the GIL; two
processes list both trees on two cores at once, where threads only took turns.
"""

import gc
import marshal
import os
import stat
import sys

FILE, DIR, LINK = "file", "dir", "link"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)


def excluded(rel: str, name: str, patterns: list[str]) -> bool:
    """Case-insensitive glob on the name, or on the relative path when the pattern has a '/'."""
    if not patterns:
        return False
    import fnmatch  # here: re is a cost the child and a run without patterns need not pay

    low_name, low_rel = name.lower(), rel.lower()
    for pattern in patterns:
        p = pattern.lower().replace("\\", "/").strip("/")
        if fnmatch.fnmatchcase(low_rel if "/" in p else low_name, p):
            return True
    return False


def scan(path: str, make=None) -> list:
    """(name, kind, size, mtime_ns, readonly, mode) for each name; `make` builds each record."""
    out = []
    append = out.append
    s_isdir, s_isreg, s_imode, writable = stat.S_ISDIR, stat.S_ISREG, stat.S_IMODE, stat.S_IWUSR
    # Scanning through a directory fd makes each entry's stat an fstatat on a short name.
    dir_fd = os.open(path, _DIR_FLAGS)
    try:
        with os.scandir(dir_fd) as it:
            for de in it:
                if de.is_symlink():
                    record = (de.name, LINK, 0, 0, False, 0)
                else:
                    st = de.stat(follow_symlinks=False)
                    mode = st.st_mode
                    # Each record built whole, once: 50,000 of them per tree on a re-run.
                    if s_isreg(mode):
                        kind, size = FILE, st.st_size
                    else:  # sockets, fifos, devices: recorded and skipped like links
                        kind, size = (DIR if s_isdir(mode) else LINK), 0
                    record = (
                        de.name,
                        kind,
                        size,
                        st.st_mtime_ns,
                        not mode & writable,
                        s_imode(mode),
                    )
                append(make(*record) if make else record)
    finally:
        os.close(dir_fd)
    return out


def walk(root: str, patterns: list[str] | None = None, make=None) -> tuple[dict, dict]:
    """Every directory under `root`, excluded ones not entered, links never followed.

    Returns ({rel: [records]}, {rel: (errno, strerror, filename)}) with "" for the root and
    POSIX-style relative paths. A directory that cannot be listed is an error, not a stop.
    """
    with gc_paused():
        return _walk(root, patterns, make)


class gc_paused:  # noqa: N801 - used as a statement, like contextlib's
    """The cyclic collector off for a while: a listing is a tree of lists and tuples with no
    cycle to find, but the collector ran every 700 new records, then over all of them again
    and again as they aged (2-6 % of a 50,000-file walk here). Nested uses keep it off. Only
    for work that ends soon: a remote listing's threads may make garbage with cycles."""

    def __init__(self, pause: bool = True):
        self.pause = pause

    def __enter__(self):
        self.was_on = gc.isenabled()
        if self.pause:
            gc.disable()

    def __exit__(self, *exc):
        if self.was_on:
            gc.enable()


def _walk(root: str, patterns, make) -> tuple[dict, dict]:
    listings, errors = {}, {}
    stack = [""]
    while stack:
        rel = stack.pop()
        path = os.path.join(root, rel) if rel else root
        try:
            records = scan(path, make)
        except OSError as exc:
            errors[rel] = (exc.errno, exc.strerror or str(exc), path)
            continue
        listings[rel] = records
        stack.extend(subfolders(rel, records, patterns))
    return listings, errors


def subfolders(rel: str, records, patterns) -> list[str]:
    """The folders below `rel` a walk goes on into: its listing's folders, less the excluded."""
    prefix = f"{rel}/" if rel else ""
    found = []
    for record in records:
        if record[1] == DIR:
            child = prefix + record[0]
            if not (patterns and excluded(child, record[0], patterns)):
                found.append(child)
    return found


_children: dict = {}  # (root, patterns) -> a child started early (see start_early)


class Child:
    """A child interpreter listing a tree into an in-memory file (memfd on Linux, else an
    unlinked temporary file outside any tree): it writes its whole answer and exits without
    waiting on a pipe for this process, which reads only once its own walk ends. Started with
    posix_spawn where there is one: nothing more to import before the child is on its way."""

    def __init__(self, root: str, patterns: list[str]):
        argv = [sys.executable, "-I", "-S", __file__, root, *patterns]
        if hasattr(os, "memfd_create"):
            self.fd = os.memfd_create("julieops-treewalk", os.MFD_CLOEXEC)
        else:
            import tempfile

            with tempfile.TemporaryFile() as tmp:
                self.fd = os.dup(tmp.fileno())
        self.pid = self.proc = None
        try:
            if hasattr(os, "posix_spawn"):
                self.pid = os.posix_spawn(
                    sys.executable,
                    argv,
                    os.environ,
                    file_actions=[
                        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                        (os.POSIX_SPAWN_DUP2, self.fd, 1),
                        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                    ],
                )
            else:
                import subprocess

                self.proc = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=self.fd, stderr=subprocess.DEVNULL
                )
        except BaseException:
            os.close(self.fd)
            raise

    def _wait(self) -> int:
        if self.proc is not None:
            return self.proc.wait()
        try:
            return os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        except ChildProcessError:
            # Reaped by someone else's SIGCHLD handler: it has exited, its status is lost (as
            # subprocess does, taken as 0). Its answer is whole or marshal refuses it.
            return 0

    def result(self) -> tuple[dict, dict] | None:
        """The child's (listings, errors) once it exits, or None when it failed."""
        try:
            if self._wait() != 0:
                return None
            size, data = os.fstat(self.fd).st_size, b""
            while len(data) < size:  # one read, but for huge trees (a read stops near 2 GiB)
                piece = os.pread(self.fd, size - len(data), len(data))
                if not piece:
                    return None
                data += piece
            return marshal.loads(data)  # noqa: S302 - our own child's
        except (OSError, EOFError, ValueError, TypeError):
            return None
        finally:
            os.close(self.fd)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
        else:
            import signal

            # Not contextlib.suppress: the child imports this module, and its start counts.
            try:  # noqa: SIM105
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:  # reaped already by a SIGCHLD handler of the host
                pass
        self._wait()
        os.close(self.fd)


def start_child(root: str, patterns: list[str]) -> Child | None:
    """Start listing `root` in a child interpreter (None if it cannot)."""
    try:
        return Child(root, patterns)
    except (OSError, ValueError):
        return None


def start_early(root: str, patterns: list[str]) -> None:
    """The command line starts the destination's listing before it loads the engine."""
    key = (os.path.abspath(root), tuple(patterns))
    if key not in _children and os.path.isdir(root):
        child = start_child(key[0], patterns)
        if child is not None:
            _children[key] = child


def take_early(root: str, patterns: list[str]) -> Child | None:
    """The child `start_early` left for this listing, if any (handed over once)."""
    return _children.pop((root, tuple(patterns)), None)


def stop_early() -> None:
    """Reap children nobody took (the run stopped before planning)."""
    while _children:
        _, child = _children.popitem()
        child.kill()


def main(argv: list[str]) -> int:
    result = walk(argv[0], argv[1:])
    sys.stdout.buffer.write(marshal.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
