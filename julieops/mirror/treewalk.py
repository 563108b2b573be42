"""Walk a whole local tree: one scandir and one stat per name, nothing else.

Standard library only, so it also runs as a script (`python -I -S treewalk.py ROOT [PATTERN…]`,
marshalled result on stdout): the engine lists the destination in such a child process while it
lists the source itself. Listing is mostly stat() calls made one at a time under the GIL; two
processes list both trees on two cores at once, where threads only took turns.
"""

import fnmatch
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
                    if s_isreg(mode):
                        record = (de.name, FILE, st.st_size, st.st_mtime_ns, not mode & writable)
                    elif s_isdir(mode):
                        record = (de.name, DIR, 0, st.st_mtime_ns, not mode & writable)
                    else:  # sockets, fifos, devices: recorded and skipped like links
                        record = (de.name, LINK, 0, st.st_mtime_ns, not mode & writable)
                    record += (s_imode(mode),)
                append(make(*record) if make else record)
    finally:
        os.close(dir_fd)
    return out


def walk(root: str, patterns: list[str] | None = None, make=None) -> tuple[dict, dict]:
    """Every directory under `root`, excluded ones not entered, links never followed.

    Returns ({rel: [records]}, {rel: (errno, strerror, filename)}) with "" for the root and
    POSIX-style relative paths. A directory that cannot be listed is an error, not a stop.
    """
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


_children: dict = {}  # (root, patterns) -> a child started early (see start_child)


def start_child(root: str, patterns: list[str]):
    """Start listing `root` in a child interpreter; returns the Popen (None if it cannot)."""
    import subprocess

    try:
        return subprocess.Popen(
            [sys.executable, "-I", "-S", __file__, root, *patterns],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except (OSError, ValueError):
        return None


def start_early(root: str, patterns: list[str]) -> None:
    """The command line starts the destination's listing before it loads the engine."""
    key = (os.path.abspath(root), tuple(patterns))
    if key not in _children and os.path.isdir(root):
        proc = start_child(key[0], patterns)
        if proc is not None:
            _children[key] = proc


def take_early(root: str, patterns: list[str]):
    """The child `start_early` left for this listing, if any (handed over once)."""
    return _children.pop((root, tuple(patterns)), None)


def stop_early() -> None:
    """Reap children nobody took (the run stopped before planning)."""
    while _children:
        _, proc = _children.popitem()
        proc.kill()
        proc.stdout.close()
        proc.wait()


def main(argv: list[str]) -> int:
    result = walk(argv[0], argv[1:])
    sys.stdout.buffer.write(marshal.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
