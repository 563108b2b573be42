"""An SMB share through smbprotocol's smbclient: 1 MiB I/O, metadata from scandir's smb_info.

A non-default port must be passed on every smbclient call (smbprotocol#318), hence `self.kw`.
"""

import contextlib
import datetime
from pathlib import PurePosixPath
from typing import BinaryIO

import smbclient
from smbprotocol.exceptions import SMBOSError

from ..entry import DIR, FILE, LINK, Entry
from .base import NETWORK_BUFFER, Endpoint, temp_name

FILE_ATTRIBUTE_READONLY = 0x1
FILE_ATTRIBUTE_DIRECTORY = 0x10
FILE_ATTRIBUTE_REPARSE_POINT = 0x400
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def to_ns(value: datetime.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return (value - _EPOCH) // datetime.timedelta(microseconds=1) * 1000


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
        )
        self.root = "\\\\" + "\\".join([host, share, *self.parts])

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

    def list_dir(self, rel: str) -> list[Entry]:
        out = []
        with smbclient.scandir(self.path(rel), **self.kw) as it:
            for de in it:
                info = de.smb_info
                attrs = info.file_attributes
                if attrs & FILE_ATTRIBUTE_REPARSE_POINT:
                    kind = LINK
                elif attrs & FILE_ATTRIBUTE_DIRECTORY:
                    kind = DIR
                else:
                    kind = FILE
                readonly = bool(attrs & FILE_ATTRIBUTE_READONLY)
                size = info.end_of_file if kind == FILE else 0
                out.append(Entry(de.name, kind, size, to_ns(info.last_write_time), readonly))
        return out

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
