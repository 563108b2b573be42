"""An SMB share, worked through lean channels (smb2wire: smbprotocol sets the session up, then
our own packing, signing and parsing; one connection per thread from a small pool): a folder
listed with one related compound, many in flight; a file up to 1 MiB read or written with one
compound (open, I/O, times, close), a larger one in 4 MiB READs (two outstanding, each chunk a
view of its answer) or 1 MiB WRITEs (PIPELINE outstanding) to a temporary name, renamed over
the real name in one more compound. An encrypted session (or JULIEOPS_SMB_LEAN=0) keeps the
same work on smbprotocol's connection and smbclient (smblist.SmbLister, `_Pipe`).

A non-default port must be passed on every smbclient call (smbprotocol#318), hence `self.kw`.
"""

import contextlib
import os
import threading
from collections import deque
from pathlib import PurePosixPath
from typing import BinaryIO

import smbclient
from smbprotocol.exceptions import SMBException, SMBOSError

from ..entry import Entry
from .base import NETWORK_BUFFER, Endpoint, RemoteTreeWalk, temp_name

PIPELINE = 4  # READ/WRITE requests of NETWORK_BUFFER outstanding per file
# A lean channel reads a large file in 4 MiB READs, two outstanding (measured on loopback
# Samba: 1.5-2x the rate of 1 MiB x 4; 8 MiB answers were slower again).
LEAN_READ, LEAN_DEPTH = 4 * 1024 * 1024, 2
CREDIT_RESERVE = 32  # credits left for the other threads' first request and the listing


class _Pipe:
    """Requests on one open file, answered in order: `send` while `room()`, then `next()`."""

    def __init__(self, fd):
        self.fd, self.conn = fd, fd.connection
        self.sid = fd.tree_connect.session.session_id
        self.tid = fd.tree_connect.tree_connect_id
        self.pending = deque()

    def room(self, charge: int) -> bool:
        if not self.pending:
            return True  # one request at a time always goes, as smbclient's own I/O
        if len(self.pending) >= PIPELINE:
            return False
        window = self.conn.sequence_window
        return window["high"] - window["low"] >= charge + CREDIT_RESERVE

    def send(self, message, receive, extra) -> bool:
        """False when the credits ran out between room() and now (another thread)."""
        try:
            request = self.conn.send(message, sid=self.sid, tid=self.tid)
        except SMBException:
            if not self.pending:
                raise
            return False
        self.pending.append((request, receive, extra))
        return True

    def next(self):
        request, receive, extra = self.pending.popleft()
        return receive(request), extra

    def drain(self) -> None:
        """Wait for every answer still due (after an error: the file is then closed)."""
        while self.pending:
            with contextlib.suppress(Exception):
                self.next()


def _charge(length: int) -> int:
    return (max(0, length - 1) // 65536) + 1


class SmbEndpoint(Endpoint):
    scheme = "smb"
    default_threads = 8

    def __init__(
        self,
        url: str,
        host: str,
        port: int,
        share: str,
        path: str,
        *,
        username: str | None = None,
        password: str | None = None,
        encrypt: bool | None = None,
        timeout: float = 30.0,
    ):
        super().__init__(url)
        self.host, self.port, self.share = host, port, share
        self._auth = {"username": username, "password": password, "encrypt": encrypt}
        self.timeout = timeout
        self.lean = os.environ.get("JULIEOPS_SMB_LEAN", "1") != "0"
        self.listing_method = None  # "lean" or "smbprotocol", once the first listing chose
        self.parts = [p for p in path.replace("\\", "/").split("/") if p]
        self._kw = {"port": port, "username": username, "password": password}
        self._registered = False
        self._session_lock = threading.Lock()
        self.root = "\\\\" + "\\".join([host, share, *self.parts])
        self._lister = None
        self._wire = None
        self._lister_lock = threading.Lock()
        # Connected here, so a refused address or password fails the opening as before: the
        # lean channel when it can serve (then smbprotocol's pooled session only if a rare
        # operation needs it), else the pooled session.
        if not self.wire():
            self._register()

    def _register(self) -> None:
        with self._session_lock:
            if not self._registered:
                smbclient.register_session(
                    self.host,
                    username=self._kw["username"],
                    password=self._kw["password"],
                    port=self.port,
                    encrypt=self._auth["encrypt"],
                    connection_timeout=self.timeout,
                    require_signing=True,  # never an unsigned session (relay, tampering)
                )
                self._registered = True

    @property
    def kw(self) -> dict:
        """smbclient's keyword arguments, its pooled session registered on first use."""
        self._register()
        return self._kw

    def path(self, rel: str) -> str:
        return f"{self.root}\\{rel.replace('/', chr(92))}" if rel else self.root

    def location(self) -> tuple:
        parts = (self.share.lower(), *(p.lower() for p in self.parts))
        return ("smb", self.host.lower(), PurePosixPath("/", *parts).parts)

    def is_root(self) -> bool:
        # An administrative drive share (C$, D$…) at its top is a drive root.
        return not self.parts and len(self.share) == 2 and self.share.endswith("$")

    def exists(self) -> bool:
        try:
            wire = self.wire()
            if wire is not None:
                return wire.is_dir("")
            return smbclient.path.isdir(self.root, **self.kw)
        except (OSError, ValueError):
            return False

    def lister(self):
        """The SmbLister of this tree (session and tree connection looked up once)."""
        with self._lister_lock:
            if self._lister is None:
                from smbclient._pool import get_smb_tree

                from .smblist import SmbLister

                tree, base = get_smb_tree(self.root, **self.kw)
                self._lister = SmbLister(tree, base.strip("\\"), self.root)
            return self._lister

    def wire(self):
        """The WireLister of this tree, or None when the session cannot use a lean channel
        (encrypted: smbprotocol's path then) or JULIEOPS_SMB_LEAN=0."""
        with self._lister_lock:
            if self._wire is None:
                self._wire = False
                if self.lean:
                    from .smb2wire import Channel, Unsupported
                    from .smblist import WireLister

                    def open_channel():
                        return Channel(
                            self.host, self.port, self.share, timeout=self.timeout, **self._auth
                        )

                    with contextlib.suppress(Unsupported):
                        self._wire = WireLister(open_channel, "\\".join(self.parts), self.root)
                self.listing_method = "lean" if self._wire else "smbprotocol"
            return self._wire or None

    def _reader(self):
        return self.wire() or self.lister()

    def list_dir(self, rel: str) -> list[Entry]:
        return [Entry._make(r) for r in self._reader().list_dir(rel)]

    def tree_walker(self):
        """The planner's whole-tree walker; None when `list_dir` was specialised (tests)."""
        if type(self).list_dir is not SmbEndpoint.list_dir:
            return None
        return RemoteTreeWalk(lambda patterns: self._reader().walk(patterns))

    def open_read(self, rel: str, size: int) -> BinaryIO:
        return smbclient.open_file(self.path(rel), "rb", buffering=0, share_access="r", **self.kw)

    def read_chunks(self, rel, size, bufsize=NETWORK_BUFFER):
        """The file as it was when opened (its size then): a small one in one compound
        (smblist.read_small), a larger one with PIPELINE reads outstanding."""
        from .smblist import SMALL_READ

        plain = type(self).open_read is SmbEndpoint.open_read
        if 0 <= size <= SMALL_READ and plain:
            data = self._reader().read_small(rel, size)
            if data is not None:
                if data:
                    yield data
                return
        wire = self.wire() if plain else None
        if wire is not None:
            yield from wire.read_whole(rel, max(bufsize, LEAN_READ), LEAN_DEPTH)
            return
        with self.open_read(rel, size) as fh:
            pipe = _Pipe(fh.fd)
            step = min(bufsize, fh.fd.connection.max_read_size)
            end, offset = fh.fd.end_of_file, 0
            try:
                while offset < end or pipe.pending:
                    while offset < end and pipe.room(_charge(step)):
                        length = min(step, end - offset)
                        message, receive = fh.fd.read(offset, length, send=False)
                        if not pipe.send(message, receive, length):
                            break
                        offset += length
                    data, _ = pipe.next()
                    if not data:
                        return
                    yield data
            finally:
                pipe.drain()

    def store(self, rel, chunks, entry: Entry, on_bytes=None) -> None:
        wire = self.wire()
        if wire is not None:
            self._store_lean(wire, rel, chunks, entry, on_bytes)
            return
        final = self.path(rel)
        tmp = final.rsplit("\\", 1)[0] + "\\" + temp_name(entry.name)
        try:
            rest = self._store_small(rel, tmp, chunks, entry, on_bytes)
            if rest is not None:
                with smbclient.open_file(tmp, "wb", buffering=0, **self.kw) as fh:
                    _write_pipelined(fh.fd, rest, on_bytes)
                    fh.fd.flush()  # what smbclient's close does after its own writes
                if entry.mtime_ns:
                    smbclient.utime(tmp, ns=(entry.mtime_ns, entry.mtime_ns), **self.kw)
            smbclient.replace(tmp, final, **self.kw)
        except BaseException:
            with contextlib.suppress(OSError, SMBOSError):
                smbclient.remove(tmp, **self.kw)
            raise

    def _store_lean(self, wire, rel, chunks, entry: Entry, on_bytes) -> None:
        """On a lean channel: a temporary name written (one compound up to 1 MiB, else
        pipelined WRITEs), its times set and flushed, then renamed over the real name in one
        more compound; on any failure the temporary is removed and the real name untouched."""
        from .smblist import SMALL_READ

        parent = rel.rpartition("/")[0]
        name = temp_name(entry.name)
        tmp = f"{parent}/{name}" if parent else name
        try:
            if entry.size <= SMALL_READ:
                data = b"".join(chunks)
                if len(data) <= min(SMALL_READ, wire.max_write_size):
                    wire.write_new(tmp, data, entry.mtime_ns)
                    if on_bytes and data:
                        on_bytes(len(data))
                    chunks = None
                else:  # it grew since it was listed
                    chunks = [data]
            if chunks is not None:
                wire.write_whole(tmp, chunks, entry.mtime_ns, NETWORK_BUFFER, PIPELINE, on_bytes)
            wire.rename(tmp, rel)
        except BaseException:
            with contextlib.suppress(OSError, SMBException):
                wire.remove(tmp, directory=False)
            raise

    def _store_small(self, rel, tmp: str, chunks, entry: Entry, on_bytes):
        """A file of at most SMALL_READ bytes written to its temporary name in one compound
        (smblist.write_new): None once written; else the chunks still to write the ordinary
        way (a larger file, or one that grew while it was read)."""
        from .smblist import SMALL_READ

        if entry.size > SMALL_READ:
            return chunks
        data = b"".join(chunks)
        lister = self.lister()
        if len(data) > min(SMALL_READ, lister.conn.max_write_size):
            return [data]
        parent = rel.rpartition("/")[0]
        name = tmp.rsplit("\\", 1)[1]
        lister.write_new(f"{parent}/{name}" if parent else name, data, entry.mtime_ns)
        if on_bytes and data:
            on_bytes(len(data))
        return None

    def makedirs(self, rel: str) -> None:
        wire = self.wire()
        if wire is not None:
            wire.makedir(rel)
            return
        try:
            smbclient.mkdir(self.path(rel), **self.kw)
        except OSError:
            if not smbclient.path.isdir(self.path(rel), **self.kw):
                raise

    def set_mtime(self, rel: str, mtime_ns: int) -> None:
        wire = self.wire()
        if wire is not None:
            wire.set_mtime(rel, mtime_ns)
            return
        smbclient.utime(self.path(rel), ns=(mtime_ns, mtime_ns), **self.kw)

    def remove_file(self, rel: str) -> None:
        wire = self.wire()
        if wire is not None:
            wire.remove(rel, directory=False)
            return
        smbclient.remove(self.path(rel), **self.kw)

    def remove_dir(self, rel: str) -> None:
        wire = self.wire()
        if wire is not None:
            wire.remove(rel, directory=True)
            return
        smbclient.rmdir(self.path(rel), **self.kw)

    def close(self) -> None:
        if self._wire:
            self._wire.close()
        if self._registered:
            with contextlib.suppress(Exception):
                smbclient.delete_session(self.host, port=self.port)


def _write_pipelined(fd, chunks, on_bytes=None) -> None:
    """WRITE requests of up to NETWORK_BUFFER, PIPELINE outstanding; a short write is an
    error (a server that accepts less than asked is out of room)."""
    pipe = _Pipe(fd)
    step = min(NETWORK_BUFFER, fd.connection.max_write_size)
    offset = 0

    def settle():
        written, (length, chunk_bytes) = pipe.next()
        if written != length:
            raise OSError(f"SMB write: {written} of {length} bytes written")
        if on_bytes and chunk_bytes:
            on_bytes(chunk_bytes)

    try:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                piece = view[:step]
                while not pipe.room(_charge(len(piece))):
                    settle()
                message, receive = fd.write(bytes(piece), offset=offset, send=False)
                last = len(view) <= step
                while not pipe.send(message, receive, (len(piece), len(chunk) if last else 0)):
                    settle()
                offset += len(piece)
                view = view[len(piece) :]
        while pipe.pending:
            settle()
    finally:
        pipe.drain()
    fd.end_of_file = max(fd.end_of_file, offset)
