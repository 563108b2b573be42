"""SMB directory listings read straight from QUERY_DIRECTORY's response buffer.

smbclient.scandir costs, per name, a structure unpack of every field, three datetimes and an
SMBRawIO (which resolves the tree again through the connection pool); per folder, one round trip
each for CREATE, every QUERY_DIRECTORY (the last one only to hear STATUS_NO_MORE_FILES) and CLOSE.
Here one folder is one related compound (CREATE + QUERY_DIRECTORY + CLOSE, a single round trip)
on the session and tree connection opened once, the records are cut out of the buffer with one
struct call each, and many folders are in flight at once from a single thread.

Read-only: folders are opened with FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES, FILE_OPEN.

SmbLister does this on smbprotocol's connection (kept for encrypted sessions); WireLister does
the same, and the endpoint's writes, on smb2wire's lean channels, where the messages are packed
and parsed here with struct and no smbprotocol object is built per request.
"""

import collections
import contextlib
import errno
import struct
import threading

from smbprotocol.exceptions import SMBException, SMBOSError, SMBResponseException
from smbprotocol.file_info import FileInformationClass
from smbprotocol.header import Commands, NtStatus
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    DirectoryAccessMask,
    FileAttributes,
    FilePipePrinterAccessMask,
    ImpersonationLevel,
    Open,
    ShareAccess,
)

from ..entry import DIR, FILE, LINK
from ..treewalk import subfolders
from .smb2wire import charge

FILE_ATTRIBUTE_READONLY = 0x1
FILE_ATTRIBUTE_DIRECTORY = 0x10
FILE_ATTRIBUTE_REPARSE_POINT = 0x400

# FILE_DIRECTORY_INFORMATION (MS-FSCC 2.4.10): NextEntryOffset, FileIndex, CreationTime,
# LastAccessTime, LastWriteTime, ChangeTime, EndOfFile, AllocationSize, FileAttributes,
# FileNameLength, then the UTF-16 name.
_RECORD = struct.Struct("<I20xQ8xQ8xII")
_HEAD = 64
_FILETIME_EPOCH = 116_444_736_000_000_000  # 1601-01-01 -> 1970-01-01 in 100 ns units
# A query answer with less room left than the largest record (64 + 255 UTF-16 units, aligned)
# cannot have stopped for lack of room: the folder is complete. Otherwise it is listed again
# with a loop of QUERY_DIRECTORY requests.
_LARGEST_RECORD = 1024
COMPOUND_OUTPUT = 64 * 1024  # one credit
LOOP_OUTPUT = 1024 * 1024
IN_FLIGHT = 32  # folders listed at once
CREDITS_WANTED = 256

_CREATE = struct.Struct("<HBBIQQIIIIIHHII")  # the fixed part of an SMB2 CREATE request (56)
_READ = struct.Struct("<HBBIQ16sIIIHHB")  # an SMB2 READ request (49 bytes, MS-SMB2 2.2.19)
_RELATED_FILE_ID = b"\xff" * 16  # "the file the previous request of the compound opened"
_END_OF_FILE = 48  # EndofFile's offset in an SMB2 CREATE response
SMALL_READ = 1024 * 1024  # files up to this size are read with one compound (read_small)
_WRITE = struct.Struct("<HHIQ16sIIHHI")  # an SMB2 WRITE request before its data (48 bytes)
_SET_INFO = struct.Struct("<HBBIHHI16s")  # an SMB2 SET_INFO request before its buffer (32)
_BASIC_INFO = struct.Struct("<QQQQII")  # FileBasicInformation (MS-FSCC 2.4.7)
_FLUSH = struct.Struct("<HHI16s")  # an SMB2 FLUSH request (24)
_WRITE_ACCESS = (
    FilePipePrinterAccessMask.FILE_WRITE_DATA
    | FilePipePrinterAccessMask.FILE_WRITE_ATTRIBUTES
    | FilePipePrinterAccessMask.FILE_WRITE_EA
)
_FILE_ACCESS = (
    FilePipePrinterAccessMask.FILE_READ_DATA
    | FilePipePrinterAccessMask.FILE_READ_ATTRIBUTES
    | FilePipePrinterAccessMask.FILE_READ_EA
)

_ACCESS = DirectoryAccessMask.FILE_LIST_DIRECTORY | DirectoryAccessMask.FILE_READ_ATTRIBUTES
_SHARE = ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE


def parse_directory_information(buf, out: list, skip_dots=True) -> None:
    """Append (name, kind, size, mtime_ns, readonly, 0) for each record of `buf`."""
    unpack_from = _RECORD.unpack_from
    offset, end = 0, len(buf)
    mv = memoryview(buf)
    append = out.append
    while offset < end:
        nxt, mtime, eof, attrs, nlen = unpack_from(buf, offset)
        name = str(mv[offset + _HEAD : offset + _HEAD + nlen], "utf-16-le", "surrogatepass")
        if not (skip_dots and name in (".", "..")):
            if attrs & FILE_ATTRIBUTE_REPARSE_POINT:
                kind, size = LINK, 0
            elif attrs & FILE_ATTRIBUTE_DIRECTORY:
                kind, size = DIR, 0
            else:
                kind, size = FILE, eof
            mtime_ns = (mtime - _FILETIME_EPOCH) * 100 if mtime else 0
            append((name, kind, size, mtime_ns, bool(attrs & FILE_ATTRIBUTE_READONLY), 0))
        if not nxt:
            break
        offset += nxt


class _Packed:
    """A request body packed once by hand, in the shape smbprotocol's Connection._send takes
    (COMMAND, len, pack, and the two fields its credit charge reads for QUERY_DIRECTORY)."""

    __slots__ = ("COMMAND", "data", "fields")

    def __init__(self, command, data: bytes, fields=None):
        self.COMMAND, self.data, self.fields = command, data, fields or {}

    def __len__(self):
        return len(self.data)

    def pack(self):
        return self.data

    def __getitem__(self, key):
        return self.fields[key]


class _Value:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def get_value(self):
        return self.value

    def __len__(self):
        return len(self.value)


def create_body(
    share_path: str,
    *,
    access=_ACCESS,
    attributes=FileAttributes.FILE_ATTRIBUTE_DIRECTORY,
    share=_SHARE,
    options=CreateOptions.FILE_DIRECTORY_FILE,
    disposition=CreateDisposition.FILE_OPEN,
) -> bytes:
    """SMB2 CREATE (MS-SMB2 2.2.13) opening an existing folder to list it (or, with the file
    arguments, a file to read it): no create contexts."""
    name = share_path.encode("utf-16-le")
    fixed = _CREATE.pack(
        57,  # StructureSize (56 + 1 byte of buffer, always counted)
        0,
        0,  # no oplock
        ImpersonationLevel.Impersonation,
        0,
        0,
        access,
        attributes,
        share,
        disposition,
        options,
        120,  # NameOffset: 64-byte header + 56
        len(name),
        0,
        0,
    )
    return fixed + (name or b"\0\0")  # an empty name: two zero bytes, as smbprotocol sends


def _output_buffer(response) -> bytes:
    """The Buffer of an SMB2 QUERY_DIRECTORY response, without unpacking its structure."""
    data = response["data"].get_value()
    offset, length = struct.unpack_from("<HI", data, 2)
    start = offset - _HEAD  # the offset counts from the start of the SMB2 header
    return data[start : start + length]


def _os_error(exc: SMBResponseException, path: str) -> OSError:
    return SMBOSError(exc.status, path)


class SmbLister:
    """Lists folders of one tree connection: `list_dir` one at a time, `walk` a whole tree."""

    def __init__(self, tree, base: str, unc_root: str):
        self.tree = tree
        self.base = base  # the tree root's path inside the share ("" or "a\\b")
        self.unc_root = unc_root
        self.conn = tree.session.connection
        self.sid = tree.session.session_id
        self.tid = tree.tree_connect_id
        self._credit_lock = threading.Lock()
        self._asked = False
        # QUERY_DIRECTORY and CLOSE of a related compound are the same bytes for every folder
        # (the FileId is the "use the previous one" value): packed once by smbprotocol.
        fd = Open(tree, "")
        query, _ = fd.query_directory(
            "*",
            FileInformationClass.FILE_DIRECTORY_INFORMATION,
            max_output=COMPOUND_OUTPUT,
            send=False,
        )
        fields = {
            "buffer": _Value(query["buffer"].get_value()),
            "output_buffer_length": _Value(COMPOUND_OUTPUT),
        }
        self._query = _Packed(Commands.SMB2_QUERY_DIRECTORY, query.pack(), fields)
        self._close = _Packed(Commands.SMB2_CLOSE, fd.close(send=False)[0].pack())

    def _share_path(self, rel: str) -> str:
        sub = rel.replace("/", "\\")
        if self.base and sub:
            return f"{self.base}\\{sub}"
        return self.base or sub

    def _ensure_credits(self) -> None:
        with self._credit_lock:
            if self._asked:
                return
            self._asked = True
            window = self.conn.sequence_window
            have = window["high"] - window["low"]
            if have < CREDITS_WANTED:
                with contextlib.suppress(SMBException, OSError):  # fewer in flight, no failure
                    self.conn.echo(sid=self.sid, credit_request=CREDITS_WANTED - have)

    def credits(self) -> int:
        window = self.conn.sequence_window
        return window["high"] - window["low"]

    # --- one folder -------------------------------------------------------------------------
    def send(self, rel: str):
        create = _Packed(Commands.SMB2_CREATE, create_body(self._share_path(rel)))
        return self.conn.send_compound(
            [create, self._query, self._close], self.sid, self.tid, related=True
        )

    def finish(self, rel: str, requests) -> list:
        """The records of a folder sent with `send` (listed again with a loop if truncated)."""
        results, error = [], None
        for i, request in enumerate(requests):
            try:
                response = self.conn.receive(request)
            except SMBResponseException as exc:
                if error is None and not (i == 1 and exc.status == NtStatus.STATUS_NO_MORE_FILES):
                    error = exc
                results.append(None)
                continue
            results.append(response)
        if error is not None:
            raise _os_error(error, self._unc(rel))
        out: list = []
        if results[1] is None:  # STATUS_NO_MORE_FILES: not even "." (a server that hides it)
            return out
        buf = _output_buffer(results[1])
        if len(buf) + _LARGEST_RECORD > COMPOUND_OUTPUT:
            return self.list_loop(rel)
        parse_directory_information(buf, out)
        return out

    def list_loop(self, rel: str) -> list:
        """A large folder: open, QUERY_DIRECTORY until STATUS_NO_MORE_FILES, close."""
        fd = Open(self.tree, self._share_path(rel))
        try:
            fd.create(
                ImpersonationLevel.Impersonation,
                _ACCESS,
                FileAttributes.FILE_ATTRIBUTE_DIRECTORY,
                _SHARE,
                CreateDisposition.FILE_OPEN,
                CreateOptions.FILE_DIRECTORY_FILE,
            )
        except SMBResponseException as exc:
            raise _os_error(exc, self._unc(rel)) from None
        out: list = []
        max_output = min(LOOP_OUTPUT, self.conn.max_transact_size)
        try:
            while True:
                query, _ = fd.query_directory(
                    "*",
                    FileInformationClass.FILE_DIRECTORY_INFORMATION,
                    max_output=max_output,
                    send=False,
                )
                request = self.conn.send(query, self.sid, self.tid)
                try:
                    response = self.conn.receive(request)
                except SMBResponseException as exc:
                    if exc.status == NtStatus.STATUS_NO_MORE_FILES:
                        return out
                    raise _os_error(exc, self._unc(rel)) from None
                parse_directory_information(_output_buffer(response), out)
        finally:
            fd.close()

    def list_dir(self, rel: str) -> list:
        self._ensure_credits()
        return self.finish(rel, self.send(rel))

    # --- one small file -----------------------------------------------------------------------
    def write_new(self, rel: str, data: bytes, mtime_ns: int) -> None:
        """A new file (a temporary name: FILE_CREATE fails if it exists) written in one related
        compound: CREATE + WRITE + SET_INFO (its times) + FLUSH + CLOSE. `data` fits one WRITE.
        Raises the first error, as smbclient would; the caller removes the file then."""
        self._ensure_credits()
        create = create_body(
            self._share_path(rel),
            access=_WRITE_ACCESS,
            attributes=FileAttributes.FILE_ATTRIBUTE_NORMAL,
            share=0,
            options=CreateOptions.FILE_NON_DIRECTORY_FILE,
            disposition=CreateDisposition.FILE_CREATE,
        )
        messages = [_Packed(Commands.SMB2_CREATE, create)]
        if data:
            head = _WRITE.pack(49, _HEAD + 48, len(data), 0, _RELATED_FILE_ID, 0, 0, 0, 0, 0)
            fields = {"length": _Value(len(data)), "write_channel_info_length": _Value(0)}
            messages.append(_Packed(Commands.SMB2_WRITE, head + data, fields))
        if mtime_ns:
            when = mtime_ns // 100 + _FILETIME_EPOCH
            basic = _BASIC_INFO.pack(0, when, when, 0, 0, 0)  # 0: left as it is
            head = _SET_INFO.pack(33, 1, 4, len(basic), _HEAD + 32, 0, 0, _RELATED_FILE_ID)
            messages.append(_Packed(Commands.SMB2_SET_INFO, head + basic))
        messages.append(_Packed(Commands.SMB2_FLUSH, _FLUSH.pack(24, 0, 0, _RELATED_FILE_ID)))
        messages.append(self._close)
        requests = self.conn.send_compound(messages, self.sid, self.tid, related=True)
        error = None
        for request in requests:
            try:
                self.conn.receive(request)
            except SMBResponseException as exc:
                error = error or exc
        if error is not None:
            raise _os_error(error, self._unc(rel))

    def read_small(self, rel: str, size: int) -> bytes | None:
        """A file of at most SMALL_READ bytes in one related compound: CREATE (reads shared
        only, as smbclient's open for reading) + READ of one byte more than `size` + CLOSE.
        None when the file is not the size the listing gave (it changed since): the caller
        reads it the ordinary way, whole."""
        self._ensure_credits()
        length = size + 1
        body = _READ.pack(49, 0x50, 0, length, 0, _RELATED_FILE_ID, 0, 0, 0, 0, 0, 0)
        fields = {"length": _Value(length), "read_channel_info_length": _Value(0)}
        create = create_body(
            self._share_path(rel),
            access=_FILE_ACCESS,
            attributes=FileAttributes.FILE_ATTRIBUTE_NORMAL,
            share=ShareAccess.FILE_SHARE_READ,
            options=CreateOptions.FILE_NON_DIRECTORY_FILE,
        )
        requests = self.conn.send_compound(
            [
                _Packed(Commands.SMB2_CREATE, create),
                _Packed(Commands.SMB2_READ, body, fields),
                self._close,
            ],
            self.sid,
            self.tid,
            related=True,
        )
        answers, error = [], None
        for request in requests:
            try:
                answers.append(self.conn.receive(request))
            except SMBResponseException as exc:
                error = error or exc
                answers.append(None)
        data = b""
        if error is not None:
            # Opened, then the READ at offset 0 found the end: an empty file. Anything else
            # (locked, missing, a folder) is the first error, as smbclient raises it.
            empty = answers[0] is not None and answers[1] is None and answers[2] is not None
            if not (empty and error.status == NtStatus.STATUS_END_OF_FILE):
                raise _os_error(error, self._unc(rel))
        else:
            read = answers[1]["data"].get_value()
            offset, count = struct.unpack_from("<BxI", read, 2)
            data = read[offset - _HEAD : offset - _HEAD + count]
        end_of_file = struct.unpack_from("<Q", answers[0]["data"].get_value(), _END_OF_FILE)[0]
        if end_of_file != size or len(data) != size:
            return None
        return data

    def _unc(self, rel: str) -> str:
        return f"{self.unc_root}\\{rel.replace('/', chr(92))}" if rel else self.unc_root

    # --- a whole tree -------------------------------------------------------------------------
    def walk(self, patterns: list[str] | None = None) -> tuple[dict, dict]:
        """Like treewalk.walk: ({rel: [records]}, {rel: (errno, strerror, filename)}).

        Up to IN_FLIGHT folders are outstanding at once (bounded by the credits granted); each
        answer is parsed while the next ones travel.
        """
        self._ensure_credits()
        listings, errors = {}, {}
        todo = collections.deque([""])
        inflight: collections.deque = collections.deque()
        per_folder = 3  # CREATE, QUERY_DIRECTORY (64 KiB: one credit), CLOSE
        while todo or inflight:
            while todo and len(inflight) < IN_FLIGHT and self.credits() >= per_folder:
                rel = todo.popleft()
                try:
                    inflight.append((rel, self.send(rel)))
                except SMBException:  # out of credits after all: wait for an answer
                    todo.appendleft(rel)
                    break
            if not inflight:
                if todo:  # nothing outstanding and no credit: one folder at a time
                    rel = todo.popleft()
                    inflight.append((rel, self.send(rel)))
                continue
            rel, requests = inflight.popleft()
            try:
                records = self.finish(rel, requests)
            except OSError as exc:
                errors[rel] = (exc.errno or errno.EIO, exc.strerror or str(exc), self._unc(rel))
                continue
            listings[rel] = records
            todo.extend(subfolders(rel, records, patterns))
        return listings, errors


# --- the same work on a lean channel (smb2wire) -----------------------------------------------
_QUERY = struct.Struct("<HBBI16sHHI")  # an SMB2 QUERY_DIRECTORY request before its name (32)
_CLOSE = struct.Struct("<HHI16s")  # an SMB2 CLOSE request (24)
_STAR = "*".encode("utf-16-le")
_FILE_ID = 64 + 64  # FileId's offset in a CREATE answer (header included)


def query_body(file_id: bytes, max_output: int, restart: bool = False) -> bytes:
    """SMB2 QUERY_DIRECTORY (MS-SMB2 2.2.33) of FileDirectoryInformation, pattern "*"."""
    flags = 0x01 if restart else 0  # SMB2_RESTART_SCANS
    return _QUERY.pack(33, 1, flags, 0, file_id, _HEAD + 32, len(_STAR), max_output) + _STAR


def close_body(file_id: bytes = _RELATED_FILE_ID) -> bytes:
    return _CLOSE.pack(24, 0, 0, file_id)


def read_body(offset: int, length: int, file_id: bytes = _RELATED_FILE_ID) -> bytes:
    """SMB2 READ (MS-SMB2 2.2.19): the data lands right after the 80-byte answer head."""
    return _READ.pack(49, 0x50, 0, length, offset, file_id, 0, 0, 0, 0, 0, 0)


def _buffer_of(answer) -> memoryview:
    """The Buffer of a QUERY_DIRECTORY answer (its offset counts from the header)."""
    offset, length = struct.unpack_from("<HI", answer.data, _HEAD + 2)
    return answer.data[offset : offset + length]


def _data_of(answer) -> memoryview:
    """The data of a READ answer, in place."""
    offset, length = struct.unpack_from("<BxI", answer.data, _HEAD + 2)
    return answer.data[offset : offset + length]


def _written(answer) -> int:
    """Count of a WRITE answer (MS-SMB2 2.2.22)."""
    return struct.unpack_from("<I", answer.data, _HEAD + 4)[0]


def _first_error(answers, allowed=()):
    """The status that fails a compound: the first one not a success nor `allowed`."""
    for answer in answers:
        if answer.status and answer.status not in allowed:
            return answer
    return None


class WireLister:
    """SmbLister's work (list, walk, small reads, whole reads) on smb2wire Channels, one per
    thread at a time from a pool: the packing, signing and parsing are ours, by struct."""

    def __init__(self, open_channel, base: str, unc_root: str):
        self.open_channel = open_channel  # () -> a new smb2wire.Channel on the same share
        self.base = base
        self.unc_root = unc_root
        self._free: list = []
        self._all: list = []
        self._lock = threading.Lock()
        self._query = query_body(_RELATED_FILE_ID, COMPOUND_OUTPUT)
        self._close = close_body()
        first = self._checkout()  # fails here (Unsupported) if the session cannot use it
        self._checkin(first)
        self.max_write_size = first.max_write

    _share_path = SmbLister._share_path
    _unc = SmbLister._unc

    # --- the pool -----------------------------------------------------------------------------
    def _checkout(self):
        with self._lock:
            if self._free:
                return self._free.pop()
        channel = self.open_channel()
        with self._lock:
            self._all.append(channel)
        return channel

    def _checkin(self, channel) -> None:
        if channel.broken is None:
            with self._lock:
                self._free.append(channel)

    @contextlib.contextmanager
    def channel(self):
        ch = self._checkout()
        try:
            yield ch
        finally:
            self._checkin(ch)

    def close(self) -> None:
        with self._lock:
            channels, self._all, self._free = self._all, [], []
        for ch in channels:
            ch.close()

    # --- one folder ---------------------------------------------------------------------------
    def _send_folder(self, ch, rel: str) -> list[int]:
        create = create_body(self._share_path(rel))
        return ch.send(
            [
                (Commands.SMB2_CREATE, create, 1),
                (Commands.SMB2_QUERY_DIRECTORY, self._query, 1),
                (Commands.SMB2_CLOSE, self._close, 1),
            ]
        )

    def _finish_folder(self, ch, rel: str, ids) -> list:
        answers = [ch.take(mid) for mid in ids]
        error = _first_error(answers, (NtStatus.STATUS_NO_MORE_FILES,))
        if error is not None:
            raise error.error(self._unc(rel))
        out: list = []
        if answers[1].status == NtStatus.STATUS_NO_MORE_FILES:  # not even "."
            return out
        buf = _buffer_of(answers[1])
        if len(buf) + _LARGEST_RECORD > COMPOUND_OUTPUT:
            return self._list_loop(ch, rel)
        parse_directory_information(buf, out)
        return out

    def _list_loop(self, ch, rel: str) -> list:
        """A folder larger than one compound's answer: open, QUERY_DIRECTORY until
        STATUS_NO_MORE_FILES (each answer up to LOOP_OUTPUT), close."""
        (opened,) = ch.call([(Commands.SMB2_CREATE, create_body(self._share_path(rel)), 1)])
        if opened.status:
            raise opened.error(self._unc(rel))
        file_id = bytes(opened.data[_FILE_ID : _FILE_ID + 16])
        size = min(LOOP_OUTPUT, ch.max_transact)
        out: list = []
        try:
            while True:
                (answer,) = ch.call(
                    [(Commands.SMB2_QUERY_DIRECTORY, query_body(file_id, size), charge(size))]
                )
                if answer.status == NtStatus.STATUS_NO_MORE_FILES:
                    return out
                if answer.status:
                    raise answer.error(self._unc(rel))
                parse_directory_information(_buffer_of(answer), out)
        finally:
            ch.call([(Commands.SMB2_CLOSE, close_body(file_id), 1)])

    def list_dir(self, rel: str) -> list:
        with self.channel() as ch:
            return self._finish_folder(ch, rel, self._send_folder(ch, rel))

    # --- reading files ------------------------------------------------------------------------
    def _open_file(self, rel: str) -> bytes:
        """CREATE body opening a file to read it, shared for reads only (as smbclient's)."""
        return create_body(
            self._share_path(rel),
            access=_FILE_ACCESS,
            attributes=FileAttributes.FILE_ATTRIBUTE_NORMAL,
            share=ShareAccess.FILE_SHARE_READ,
            options=CreateOptions.FILE_NON_DIRECTORY_FILE,
        )

    def read_small(self, rel: str, size: int):
        """SmbLister.read_small on a channel: CREATE + READ of size + 1 + CLOSE, one compound;
        the data is a view of the answer (not copied). None when the size is not `size`."""
        length = size + 1
        with self.channel() as ch:
            opened, read, closed = ch.call(
                [
                    (Commands.SMB2_CREATE, self._open_file(rel), 1),
                    (Commands.SMB2_READ, read_body(0, length), charge(length)),
                    (Commands.SMB2_CLOSE, self._close, 1),
                ]
            )
        data = b""
        error = _first_error((opened, read, closed))
        if error is not None:
            # Opened, then the READ at offset 0 found the end: an empty file.
            empty = not opened.status and not closed.status
            if not (empty and read.status == NtStatus.STATUS_END_OF_FILE):
                raise error.error(self._unc(rel))
        else:
            data = _data_of(read)
        end_of_file = struct.unpack_from("<Q", opened.data, _HEAD + _END_OF_FILE)[0]
        if end_of_file != size or len(data) != size:
            return None
        return data

    def read_whole(self, rel: str, step: int, depth: int):
        """The file as it was when opened (its size then) in READs of `step` bytes, `depth`
        outstanding; each chunk is a view of its answer (no copy on the way)."""
        with self.channel() as ch:
            (opened,) = ch.call([(Commands.SMB2_CREATE, self._open_file(rel), 1)])
            if opened.status:
                raise opened.error(self._unc(rel))
            file_id = bytes(opened.data[_FILE_ID : _FILE_ID + 16])
            end = struct.unpack_from("<Q", opened.data, _HEAD + _END_OF_FILE)[0]
            step = min(step, ch.max_read)
            pending: collections.deque = collections.deque()
            offset = 0
            try:
                while offset < end or pending:
                    while offset < end and len(pending) < depth:
                        n = min(step, end - offset)
                        body = read_body(offset, n, file_id)
                        pending.append(ch.send([(Commands.SMB2_READ, body, charge(n))], False)[0])
                        offset += n
                    answer = ch.take(pending.popleft())
                    if answer.status == NtStatus.STATUS_END_OF_FILE:
                        return  # it shrank since it was opened
                    if answer.status:
                        raise answer.error(self._unc(rel))
                    yield _data_of(answer)
            finally:
                for mid in pending:  # answers still due after an error or an early stop
                    with contextlib.suppress(OSError, SMBException):
                        ch.take(mid)
                with contextlib.suppress(OSError, SMBException):
                    ch.call([(Commands.SMB2_CLOSE, close_body(file_id), 1)])

    # --- writing (destination only) ------------------------------------------------------------
    def _check(self, answers, rel: str) -> None:
        error = _first_error(answers)
        if error is not None:
            raise error.error(self._unc(rel))

    @staticmethod
    def _times(mtime_ns: int, file_id: bytes = _RELATED_FILE_ID):
        when = mtime_ns // 100 + _FILETIME_EPOCH
        basic = _BASIC_INFO.pack(0, when, when, 0, 0, 0)  # 0: left as it is
        head = _SET_INFO.pack(33, 1, 4, len(basic), _HEAD + 32, 0, 0, file_id)
        return (Commands.SMB2_SET_INFO, head + basic, 1)

    @staticmethod
    def _write(offset: int, data, file_id: bytes = _RELATED_FILE_ID):
        head = _WRITE.pack(49, _HEAD + 48, len(data), offset, file_id, 0, 0, 0, 0, 0)
        return (Commands.SMB2_WRITE, (head, data), charge(len(data)))

    def _create_new(self, rel: str) -> bytes:
        """CREATE of a new file (a temporary name: FILE_CREATE fails if it exists)."""
        return create_body(
            self._share_path(rel),
            access=_WRITE_ACCESS,
            attributes=FileAttributes.FILE_ATTRIBUTE_NORMAL,
            share=0,
            options=CreateOptions.FILE_NON_DIRECTORY_FILE,
            disposition=CreateDisposition.FILE_CREATE,
        )

    def write_new(self, rel: str, data, mtime_ns: int) -> None:
        """SmbLister.write_new on a channel: CREATE new + WRITE + SET_INFO (times) + FLUSH +
        CLOSE in one compound; every answer checked, the byte count too."""
        messages = [(Commands.SMB2_CREATE, self._create_new(rel), 1)]
        if data:
            messages.append(self._write(0, data))
        if mtime_ns:
            messages.append(self._times(mtime_ns))
        messages.append((Commands.SMB2_FLUSH, _FLUSH.pack(24, 0, 0, _RELATED_FILE_ID), 1))
        messages.append((Commands.SMB2_CLOSE, self._close, 1))
        with self.channel() as ch:
            answers = ch.call(messages)
        self._check(answers, rel)
        if data and _written(answers[1]) != len(data):
            raise OSError(f"SMB write: {_written(answers[1])} of {len(data)} bytes written")

    def write_whole(self, rel: str, chunks, mtime_ns: int, step: int, depth: int, on_bytes=None):
        """A new file written with WRITEs of up to `step` bytes, `depth` outstanding, then
        its times, FLUSH and CLOSE; a short write is an error (the server is out of room)."""
        with self.channel() as ch:
            (opened,) = ch.call([(Commands.SMB2_CREATE, self._create_new(rel), 1)])
            self._check([opened], rel)
            file_id = bytes(opened.data[_FILE_ID : _FILE_ID + 16])
            step = min(step, ch.max_write)
            pending: collections.deque = collections.deque()
            offset, failed = 0, None

            def settle():
                mid, length, counted = pending.popleft()
                answer = ch.take(mid)
                self._check([answer], rel)
                if _written(answer) != length:
                    raise OSError(f"SMB write: {_written(answer)} of {length} bytes written")
                if on_bytes and counted:
                    on_bytes(counted)

            try:
                for chunk in chunks:
                    view = memoryview(chunk)
                    while view:
                        piece = view[:step]
                        while len(pending) >= depth:
                            settle()
                        last = len(view) <= step
                        (mid,) = ch.send([self._write(offset, piece, file_id)], False)
                        pending.append((mid, len(piece), len(chunk) if last else 0))
                        offset += len(piece)
                        view = view[len(piece) :]
                while pending:
                    settle()
                tail = [(Commands.SMB2_FLUSH, _FLUSH.pack(24, 0, 0, file_id), 1)]
                if mtime_ns:
                    tail.insert(0, self._times(mtime_ns, file_id))
                self._check(ch.call(tail, False), rel)
            except BaseException as exc:
                failed = exc
                raise
            finally:
                for mid, _, _ in pending:
                    with contextlib.suppress(OSError, SMBException):
                        ch.take(mid)
                try:
                    (closed,) = ch.call([(Commands.SMB2_CLOSE, close_body(file_id), 1)])
                except (OSError, SMBException):
                    if failed is None:
                        raise
                else:
                    if failed is None:
                        self._check([closed], rel)

    def rename(self, rel: str, new_rel: str) -> None:
        """`rel` renamed to `new_rel` (replacing it) in one compound: CREATE (DELETE access)
        + SET_INFO FileRenameInformation + CLOSE."""
        create = create_body(
            self._share_path(rel),
            access=FilePipePrinterAccessMask.DELETE
            | FilePipePrinterAccessMask.FILE_READ_ATTRIBUTES,
            attributes=0,
            share=_SHARE,
            options=CreateOptions.FILE_OPEN_REPARSE_POINT,
        )
        name = self._share_path(new_rel).encode("utf-16-le")
        info = struct.pack("<B7xQI", 1, 0, len(name)) + name
        self._set_file_info(rel, create, 10, info)  # FileRenameInformation

    def makedir(self, rel: str) -> None:
        """One folder (its parent exists), left as it is when it exists already."""
        create = create_body(
            self._share_path(rel),
            disposition=CreateDisposition.FILE_OPEN_IF,
        )
        with self.channel() as ch:
            answers = ch.call(
                [(Commands.SMB2_CREATE, create, 1), (Commands.SMB2_CLOSE, self._close, 1)]
            )
        self._check(answers, rel)

    def is_dir(self, rel: str) -> bool:
        """True when `rel` opens as a folder; False when missing or not a folder."""
        with self.channel() as ch:
            answers = ch.call(
                [
                    (Commands.SMB2_CREATE, create_body(self._share_path(rel)), 1),
                    (Commands.SMB2_CLOSE, self._close, 1),
                ]
            )
        return _first_error(answers) is None

    def remove(self, rel: str, directory: bool) -> None:
        """A file, or an empty folder, deleted: CREATE (DELETE access) + SET_INFO
        FileDispositionInformation + CLOSE, one compound. The disposition, not
        FILE_DELETE_ON_CLOSE: a folder not empty is refused with an error, not left silently."""
        kind = (
            CreateOptions.FILE_DIRECTORY_FILE
            if directory
            else CreateOptions.FILE_NON_DIRECTORY_FILE
        )
        create = create_body(
            self._share_path(rel),
            access=FilePipePrinterAccessMask.DELETE
            | FilePipePrinterAccessMask.FILE_READ_ATTRIBUTES,
            attributes=0,
            share=_SHARE,
            options=kind | CreateOptions.FILE_OPEN_REPARSE_POINT,
        )
        self._set_file_info(rel, create, 13, b"\x01")  # FileDispositionInformation: delete

    def _set_file_info(self, rel: str, create: bytes, info_class: int, info: bytes) -> None:
        """One related compound: the CREATE given, SET_INFO (file information `info_class`)
        on the handle it opens, CLOSE."""
        head = _SET_INFO.pack(33, 1, info_class, len(info), _HEAD + 32, 0, 0, _RELATED_FILE_ID)
        with self.channel() as ch:
            answers = ch.call(
                [
                    (Commands.SMB2_CREATE, create, 1),
                    (Commands.SMB2_SET_INFO, head + info, 1),
                    (Commands.SMB2_CLOSE, self._close, 1),
                ]
            )
        self._check(answers, rel)

    def set_mtime(self, rel: str, mtime_ns: int) -> None:
        create = create_body(
            self._share_path(rel),
            access=FilePipePrinterAccessMask.FILE_WRITE_ATTRIBUTES,
            attributes=0,
            share=_SHARE,
            options=0,
        )
        with self.channel() as ch:
            answers = ch.call(
                [
                    (Commands.SMB2_CREATE, create, 1),
                    self._times(mtime_ns),
                    (Commands.SMB2_CLOSE, self._close, 1),
                ]
            )
        self._check(answers, rel)

    # --- a whole tree -------------------------------------------------------------------------
    def walk(self, patterns: list[str] | None = None) -> tuple[dict, dict]:
        """Like SmbLister.walk: up to IN_FLIGHT folders outstanding on one channel."""
        listings, errors = {}, {}
        todo = collections.deque([""])
        inflight: collections.deque = collections.deque()
        with self.channel() as ch:
            while todo or inflight:
                while todo and len(inflight) < IN_FLIGHT and (ch.credits() >= 3 or not inflight):
                    rel = todo.popleft()
                    inflight.append((rel, self._send_folder(ch, rel)))
                rel, ids = inflight.popleft()
                try:
                    records = self._finish_folder(ch, rel, ids)
                except OSError as exc:
                    errno_ = exc.errno or errno.EIO
                    errors[rel] = (errno_, exc.strerror or str(exc), self._unc(rel))
                    continue
                listings[rel] = records
                todo.extend(subfolders(rel, records, patterns))
        return listings, errors
