"""Whole-tree listings of an SFTP endpoint, for the planner.

Two ways, measured against each other on the bench trees:

* `remote_find`: where the server gives a POSIX shell with GNU find, one SSH exec streams the
  whole tree as compact records (what rsync's remote side does); parsed here. Read-only: `cd`
  and `find -printf`, nothing else. Anything unexpected (no shell, BusyBox or Windows `find`, an
  error on stderr, a malformed record) and the result is discarded for the SFTP listing.
* `parallel_walk`: READDIR over several SFTP channels at once (one per thread), each folder's
  names and attributes from the listing itself.
"""

import collections
import errno
import shlex
import stat
import threading

from ..entry import DIR, FILE, LINK
from ..treewalk import excluded, subfolders

SECOND = 1_000_000_000
FIND_FORMAT = r"%y %s %T@ %m %P\0"
WALK_THREADS = 4
_KINDS = {"f": FILE, "d": DIR}


class RemoteListingUnavailable(Exception):
    """The remote command could not give a trustworthy listing: use SFTP instead."""


def find_command(root: str) -> str:
    return f"cd -- {shlex.quote(root)} && LC_ALL=C exec find . -mindepth 1 -printf '{FIND_FORMAT}'"


def parse_find(data: bytes, patterns: list[str] | None) -> dict:
    """{rel: [records]} from find's records; excluded folders (and what is under them) left out.

    find writes a folder before its content, so a name whose folder was not kept is dropped.
    """
    listings: dict = {"": []}
    if not data:
        return listings
    if not data.endswith(b"\0"):
        raise RemoteListingUnavailable("listing cut short")
    s_iwusr = stat.S_IWUSR
    for raw in data[:-1].split(b"\0"):
        try:
            kind_c, size, mtime, mode, path = raw.split(b" ", 4)
            kind = _KINDS.get(kind_c.decode(), LINK)
            perm = int(mode, 8)
            seconds = int(mtime.partition(b".")[0])
            size = int(size)
            rel = path.decode("utf-8", "surrogateescape")
        except (ValueError, UnicodeDecodeError) as exc:
            raise RemoteListingUnavailable(f"unexpected record {raw[:80]!r}") from exc
        if not rel or rel.startswith("/"):
            raise RemoteListingUnavailable(f"unexpected path {rel!r}")
        parent, _, name = rel.rpartition("/")
        entries = listings.get(parent)
        if entries is None:  # inside an excluded folder
            continue
        if kind == LINK:  # never followed; no size nor time needed
            record = (name, LINK, 0, seconds * SECOND, not perm & s_iwusr, perm)
        else:
            record = (name, kind, size if kind == FILE else 0, seconds * SECOND,
                      not perm & s_iwusr, perm)  # fmt: skip
        entries.append(record)
        if kind == DIR and not (patterns and excluded(rel, name, patterns)):
            listings[rel] = []
    return listings


def remote_find(transport, root: str, patterns: list[str] | None, timeout: float) -> dict:
    chan = transport.open_session(timeout=timeout)
    try:
        chan.settimeout(None)
        chan.exec_command(find_command(root))
        chan.shutdown_write()
        out, err = [], []
        stderr_ready = chan.recv_stderr_ready
        while True:
            chunk = chan.recv(1 << 20)
            if not chunk:
                break
            out.append(chunk)
            if stderr_ready():
                err.append(chan.recv_stderr(1 << 16))
        while True:
            chunk = chan.recv_stderr(1 << 16)
            if not chunk:
                break
            err.append(chunk)
        status = chan.recv_exit_status()
    finally:
        chan.close()
    if status != 0 or any(err):
        message = b"".join(err).decode("utf-8", "replace")[:200]
        raise RemoteListingUnavailable(f"find exited {status}: {message}")
    return parse_find(b"".join(out), patterns)


def parallel_walk(list_dir, patterns: list[str] | None, threads: int = WALK_THREADS):
    """Like treewalk.walk, with `threads` folders listed at once through `list_dir(rel)`."""
    listings, errors = {}, {}
    todo = collections.deque([""])
    lock = threading.Condition()
    busy = [0]

    def worker():
        while True:
            with lock:
                while not todo and busy[0]:
                    lock.wait()
                if not todo:
                    lock.notify_all()
                    return
                rel = todo.popleft()
                busy[0] += 1
            children = []
            try:
                records = [tuple(e) for e in list_dir(rel)]
            except Exception as exc:  # recorded like a local listing error, never lost
                number = getattr(exc, "errno", None) or errno.EIO
                text = getattr(exc, "strerror", None) or f"{type(exc).__name__}: {exc}"
                with lock:
                    errors[rel] = (number, text, rel)
            else:
                children = subfolders(rel, records, patterns)
                with lock:
                    listings[rel] = records
            with lock:
                todo.extend(children)
                busy[0] -= 1
                lock.notify_all()

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, threads - 1))]
    for t in pool:
        t.start()
    worker()
    for t in pool:
        t.join()
    return listings, errors
