"""An SMB share through smbprotocol's smbclient: 1 MiB I/O; listings through smblist (one
compound per folder on the session and tree connection opened once, records read from the
response buffer).

A non-default port must be passed on every smbclient call (smbprotocol#318), hence `self.kw`.
"""

import contextlib
import threading
from pathlib import PurePosixPath
from typing import BinaryIO

import smbclient
from smbprotocol.exceptions import SMBOSError

from ..entry import Entry
from .base import NETWORK_BUFFER, Endpoint, RemoteTreeWalk, temp_name


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
        self.parts = [p for p in path.replace("\\", "/").split("/") if p]
        self.kw = {"port": port, "username": username, "password": password}
        smbclient.register_session(
            host,
            username=username,
            password=password,
            port=port,
            encrypt=encrypt,
            connection_timeout=timeout,
            require_signing=True,  # never an unsigned session (relay, tampering)
        )
        self.root = "\\\\" + "\\".join([host, share, *self.parts])
        self._lister = None
        self._lister_lock = threading.Lock()

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

    def list_dir(self, rel: str) -> list[Entry]:
        return [Entry._make(r) for r in self.lister().list_dir(rel)]

    def tree_walker(self):
        """The planner's whole-tree walker; None when `list_dir` was specialised (tests)."""
        if type(self).list_dir is not SmbEndpoint.list_dir:
            return None
        return RemoteTreeWalk(lambda patterns: self.lister().walk(patterns))

    def open_read(self, rel: str, size: int) -> BinaryIO:
        return smbclient.open_file(self.path(rel), "rb", buffering=0, share_access="r", **self.kw)

    def read_chunks(self, rel, size, bufsize=NETWORK_BUFFER):
        buf = bytearray(bufsize)
        view = memoryview(buf)
        with self.open_read(rel, size) as fh:
            while True:
                n = fh.readinto(buf)
                if not n:
                    return
                yield bytes(view[:n])

    def store(self, rel, chunks, entry: Entry, on_bytes=None) -> None:
        final = self.path(rel)
        tmp = final.rsplit("\\", 1)[0] + "\\" + temp_name(entry.name)
        try:
            with smbclient.open_file(tmp, "wb", buffering=0, **self.kw) as fh:
                for chunk in chunks:
                    view = memoryview(chunk)
                    while view:
                        n = fh.write(view[:NETWORK_BUFFER])
                        view = view[n:]
                    if on_bytes:
                        on_bytes(len(chunk))
            if entry.mtime_ns:
                smbclient.utime(tmp, ns=(entry.mtime_ns, entry.mtime_ns), **self.kw)
            smbclient.replace(tmp, final, **self.kw)
        except BaseException:
            with contextlib.suppress(OSError, SMBOSError):
                smbclient.remove(tmp, **self.kw)
            raise

    def makedirs(self, rel: str) -> None:
        try:
            smbclient.mkdir(self.path(rel), **self.kw)
        except OSError:
            if not smbclient.path.isdir(self.path(rel), **self.kw):
                raise

    def set_mtime(self, rel: str, mtime_ns: int) -> None:
        smbclient.utime(self.path(rel), ns=(mtime_ns, mtime_ns), **self.kw)

    def remove_file(self, rel: str) -> None:
        smbclient.remove(self.path(rel), **self.kw)

    def remove_dir(self, rel: str) -> None:
        smbclient.rmdir(self.path(rel), **self.kw)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            smbclient.delete_session(self.host, port=self.port)
