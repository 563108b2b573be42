"""The interface every endpoint (local, SFTP, SMB) offers to the engine.

Paths given to these methods are relative to the endpoint's root, POSIX-style ("" = root).
Writes go through `store`, which writes a temporary file in the destination folder and renames
it into place, so a real name never holds a half-written file.
"""

import os
import threading
from collections.abc import Callable, Iterator
from typing import BinaryIO

from ..entry import Entry
from ..localcopy import TEMP_PREFIX, TEMP_SUFFIX

NETWORK_BUFFER = 1024 * 1024

_counter = iter(range(1, 1 << 62))
_counter_lock = threading.Lock()


def temp_name(name: str) -> str:
    """A sibling temporary name, unique per process and call."""
    with _counter_lock:
        n = next(_counter)
    return f"{TEMP_PREFIX}{os.getpid()}-{n}-{name[:80]}{TEMP_SUFFIX}"


def is_temp_name(name: str) -> bool:
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


class Endpoint:
    """Base class; subclasses implement the methods that raise NotImplementedError."""

    scheme = "?"
    #: True when times are kept with full precision (a local POSIX filesystem).
    exact_times = False
    default_threads = 8

    def __init__(self, url: str):
        self.url = url

    # --- identity, used by the guards -------------------------------------------------------
    def location(self) -> tuple:
        """(scheme, server, normalised path parts) to tell whether two trees overlap."""
        raise NotImplementedError

    def is_root(self) -> bool:
        """True for a filesystem or drive root (never a valid mirror destination)."""
        raise NotImplementedError

    def exists(self) -> bool:
        raise NotImplementedError

    # --- reading --------------------------------------------------------------------------
    def tree_walker(self):
        """An object listing the whole tree at once (see local.TreeWalk), or None."""
        return None

    def list_dir(self, rel: str) -> list[Entry]:
        """Entries of one directory, with size and mtime from the listing itself."""
        raise NotImplementedError

    def open_read(self, rel: str, size: int) -> BinaryIO:
        raise NotImplementedError

    def read_chunks(self, rel: str, size: int, bufsize: int = NETWORK_BUFFER) -> Iterator[bytes]:
        with self.open_read(rel, size) as fh:
            while True:
                chunk = fh.read(bufsize)
                if not chunk:
                    return
                yield chunk

    # --- writing (destination only) -----------------------------------------------------------
    def store(
        self,
        rel: str,
        chunks: Iterator[bytes],
        entry: Entry,
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        raise NotImplementedError

    def free_space(self) -> int | None:
        """Bytes this endpoint can still take at its root, or None when it cannot say."""
        return None

    def makedirs(self, rel: str) -> None:
        raise NotImplementedError

    def set_mtime(self, rel: str, mtime_ns: int) -> None:
        raise NotImplementedError

    def remove_file(self, rel: str) -> None:
        raise NotImplementedError

    def remove_dir(self, rel: str) -> None:
        """Remove an empty directory."""
        raise NotImplementedError

    # --- lifetime -----------------------------------------------------------------------------
    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __str__(self) -> str:
        return self.url


class RemoteTreeWalk:
    """The planner's whole-tree walker for a remote endpoint: `walk(patterns)` does the work;
    `in_child` runs it in a thread (the wait is the network's, not this process's CPU)."""

    def __init__(self, walk: Callable[[list[str]], tuple[dict, dict]]):
        self.walk = walk

    def here(self, patterns: list[str]) -> tuple[dict, dict]:
        return self.walk(patterns)

    def in_child(self, patterns: list[str]) -> Callable[[], tuple[dict, dict]]:
        result: list = []

        def run():
            try:
                result.append((True, self.walk(patterns)))
            except BaseException as exc:  # handed to the caller by finish()
                result.append((False, exc))

        thread = threading.Thread(target=run, name="mirror-list", daemon=True)
        thread.start()

        def finish():
            thread.join()
            ok, value = result[0]
            if not ok:
                raise value
            return value

        return finish
