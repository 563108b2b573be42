"""A lean SMB2 channel for the mirror's hot path: folder listings and file reads.

smbprotocol builds a Structure per header and per body, signs and verifies through them, and
hands every answer from its receive thread to the caller through an Event and two locks: on a
no-change pass that machinery, not the server, was most of the client's CPU. A Channel lets
smbprotocol do what is rare and delicate (negotiate, session setup, the key derivation, tree
connect) on a connection of its own, then takes the socket over: the receive thread is stopped
(its transport answers EOF to its next read) and requests are packed, signed, sent, read,
verified and cut with struct by the one thread that holds the channel.

Signing stays on: every request is signed with the session's key (HMAC-SHA256 for SMB 2.x,
AES-CMAC for 3.0, the negotiated algorithm for 3.1.1) and every answer but an interim
STATUS_PENDING must carry a valid signature, or the channel is closed and the call fails. An
encrypted session or share is not handled here (`Unsupported`): the caller keeps smbprotocol's
path for it.
"""

import contextlib
import hashlib
import hmac
import socket
import struct
import threading
import uuid

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import aead, algorithms
from smbprotocol.connection import Connection, Dialects, SigningAlgorithms
from smbprotocol.exceptions import SMBException, SMBOSError
from smbprotocol.header import NtStatus
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

# SMB2 header (MS-SMB2 2.2.1.2): ProtocolId, StructureSize, CreditCharge, Status, Command,
# CreditRequest/Response, Flags, NextCommand, MessageId, Reserved (ProcessId), TreeId,
# SessionId, Signature.
HEADER = struct.Struct("<4sHHIHHIIQIIQ16s")
_ANSWER = struct.Struct("<HIHHIIQ")  # CreditCharge .. MessageId of an answer, from offset 6
HEAD = 64
_ZERO16 = bytes(16)
PROTOCOL = b"\xfeSMB"
TRANSFORM = b"\xfdSMB"

CREATE, CLOSE, FLUSH, READ, WRITE, ECHO, QUERY_DIRECTORY, SET_INFO = 5, 6, 7, 8, 9, 13, 14, 17
FLAG_RESPONSE, FLAG_ASYNC, FLAG_RELATED, FLAG_SIGNED = 0x1, 0x2, 0x4, 0x8

STATUS_SUCCESS = 0
STATUS_PENDING = NtStatus.STATUS_PENDING
STATUS_NO_MORE_FILES = NtStatus.STATUS_NO_MORE_FILES
STATUS_END_OF_FILE = NtStatus.STATUS_END_OF_FILE
CREDITS_WANTED = 512  # asked for once, with the echo that hands the socket over
# Longest silence awaited for an answer: an open on a file another client holds with an
# oplock waits for the break (Windows gives the holder 35 s) behind an interim STATUS_PENDING.
ANSWER_WAIT = 120.0


class Unsupported(Exception):
    """The session cannot use the lean channel (encrypted, DFS, no signing key)."""


class ChannelBroken(SMBException):
    """The channel cannot go on (bad signature, a frame not understood, socket closed)."""


def charge(length: int) -> int:
    """Credits a request of `length` payload bytes costs (MS-SMB2 3.1.5.2, large MTU)."""
    return (max(0, length - 1) // 65536) + 1


class _Handover:
    """Put in place of smbprotocol's transport: sends go through the real one; the receive
    thread's next read is an EOF, so it ends and leaves the socket to the channel."""

    def __init__(self, tcp):
        self.tcp = tcp

    @property
    def connected(self):
        return self.tcp.connected

    def send(self, data):
        self.tcp.send(data)

    def recv(self, timeout):
        return b""

    def close(self):
        self.tcp.close()


def _signer(conn, key: bytes):
    """sign(data, message_id, response) -> 16 bytes, for the negotiated algorithm (the same
    choice as smbprotocol's Connection._generate_signature)."""
    if conn.dialect >= Dialects.SMB_3_1_1 and conn.signing_algorithm_id is not None:
        algo = conn.signing_algorithm_id
    elif conn.dialect >= Dialects.SMB_3_0_0:
        algo = SigningAlgorithms.AES_CMAC
    else:
        algo = SigningAlgorithms.HMAC_SHA256
    if algo == SigningAlgorithms.AES_GMAC:
        gcm = aead.AESGCM(key)

        def sign(data, message_id, response):
            nonce = struct.pack("<QI", message_id, 1 if response else 0)
            return gcm.encrypt(nonce, b"", data)

    elif algo == SigningAlgorithms.AES_CMAC:
        base = cmac.CMAC(algorithms.AES(key))

        def sign(data, message_id, response):
            c = base.copy()
            c.update(data)
            return c.finalize()

    else:
        base = hmac.new(key, digestmod=hashlib.sha256)

        def sign(data, message_id, response):
            h = base.copy()
            h.update(data)
            return h.digest()[:16]

    return sign, algo


class Answer:
    """One answer of a request: status, the PDU (header included), its command."""

    __slots__ = ("command", "data", "status")

    def __init__(self, status, command, data):
        self.status, self.command, self.data = status, command, data

    def error(self, path: str) -> OSError:
        return SMBOSError(self.status, path)


class Channel:
    """One authenticated, signed SMB2 connection to one share, used by one thread at a time."""

    def __init__(
        self,
        host: str,
        port: int,
        share: str,
        *,
        username=None,
        password=None,
        encrypt=None,
        timeout: float = 30.0,
        dialect=None,
        signing_algorithms=None,
    ):
        """`dialect` and `signing_algorithms` narrow the negotiation (tests; a server that
        needs it); by default the newest the server offers."""
        conn = Connection(uuid.uuid4(), host, port, require_signing=True)
        conn.connect(timeout=timeout, dialect=dialect, preferred_signing_algos=signing_algorithms)
        try:
            session = Session(conn, username, password, require_encryption=encrypt is True)
            session.connect()
            tree = TreeConnect(session, rf"\\{host}\{share}")
            tree.connect()
            if session.encrypt_data or tree.encrypt_data:
                raise Unsupported("chiffrement SMB: voie smbprotocol")
            if tree.is_dfs_share:
                raise Unsupported("partage DFS: voie smbprotocol")
            if not session.signing_key or not session.signing_required:
                raise Unsupported("session SMB non signée")
            tcp = conn.transport
            conn.transport = _Handover(tcp)
            have = conn.sequence_window["high"] - conn.sequence_window["low"]
            # The echo's answer is the receive thread's last message; it then reads an EOF.
            conn.echo(sid=session.session_id, credit_request=max(1, CREDITS_WANTED - have))
            conn._t_worker.join(timeout=timeout)
            if conn._t_worker.is_alive():
                raise Unsupported("le fil de réception de smbprotocol ne s'est pas arrêté")
        except BaseException:
            conn.disconnect(False)
            raise
        self.conn, self.tcp = conn, tcp
        self.sock: socket.socket = tcp._sock
        self.sock.settimeout(max(timeout, ANSWER_WAIT))
        self.sid, self.tid = session.session_id, tree.tree_connect_id
        self.next_id = conn.sequence_window["low"]
        self.high = conn.sequence_window["high"]
        self.max_read = conn.max_read_size
        self.max_write = conn.max_write_size
        self.max_transact = conn.max_transact_size
        self.dialect = conn.dialect
        self.multi_credit = bool(conn.supports_multi_credit)
        self.sign, self.signing_algorithm = _signer(conn, session.signing_key)
        self.answers: dict[int, Answer] = {}  # received, not yet taken
        self.outstanding: set[int] = set()  # sent, not yet answered
        self.broken: BaseException | None = None
        self.lock = threading.Lock()  # held by the thread using the channel
        self._len = bytearray(4)

    # --- credits ------------------------------------------------------------------------------
    def credits(self) -> int:
        return self.high - self.next_id

    # --- sending ------------------------------------------------------------------------------
    def send(self, messages, related=True) -> list[int]:
        """Send [(command, body, credit charge)] as one compound (related: each request after
        the first uses the file the previous one opened); a body is bytes or a tuple of
        buffers (a WRITE's head and its data: copied once, into the signed PDU). Returns
        their message ids."""
        if self.broken is not None:
            raise ChannelBroken(f"canal SMB fermé: {self.broken}")
        need = sum(c for _, _, c in messages)
        while need > self.credits():  # the answers still due bring credits back
            if not self.outstanding:
                raise SMBException(f"crédits SMB insuffisants: {need} > {self.credits()}")
            self._read_frame()
        out, ids = [], []
        last = len(messages) - 1
        for i, (command, body, credit) in enumerate(messages):
            parts = body if isinstance(body, tuple) else (body,)
            size = sum(len(p) for p in parts)
            mid = self.next_id
            self.next_id += credit
            length = HEAD + size
            pad = (-length) % 8 if i != last else 0
            flags = FLAG_SIGNED | (FLAG_RELATED if related and i else 0)
            want = credit + (8 if self.credits() < CREDITS_WANTED else 0)
            pdu = bytearray(length + pad)
            HEADER.pack_into(
                pdu,
                0,
                PROTOCOL,
                64,
                credit,
                0,
                command,
                want,
                flags,
                length + pad if i != last else 0,
                mid,
                0,
                self.tid,
                self.sid,
                b"",
            )
            at = HEAD
            for p in parts:
                pdu[at : at + len(p)] = p
                at += len(p)
            pdu[48:64] = self.sign(pdu, mid, False)
            out.append(pdu)
            ids.append(mid)
        self.outstanding.update(ids)
        total = sum(len(p) for p in out)
        try:
            self._send_all([struct.pack(">I", total), *out], total + 4)
        except OSError as exc:
            self._break(exc)
            raise
        return ids

    def _send_all(self, buffers, total: int) -> None:
        """sendmsg until every byte went (no joined copy of the frame)."""
        views = [memoryview(b) for b in buffers]
        while total:
            sent = self.sock.sendmsg(views)
            total -= sent
            while sent:
                if sent >= len(views[0]):
                    sent -= len(views[0])
                    views.pop(0)
                else:
                    views[0] = views[0][sent:]
                    sent = 0

    # --- receiving ----------------------------------------------------------------------------
    def _recv_exact(self, n: int) -> bytearray:
        buf = bytearray(n)
        view, got = memoryview(buf), 0
        while got < n:
            k = self.sock.recv_into(view[got:])
            if not k:
                raise ChannelBroken("connexion SMB fermée par le serveur")
            got += k
        return buf

    def _read_frame(self) -> None:
        """Read one transport frame and file its answers by message id."""
        try:
            size = struct.unpack(">I", self._recv_exact(4))[0] & 0xFFFFFF
            frame = self._recv_exact(size)
        except (OSError, ChannelBroken) as exc:
            self._break(exc)
            raise
        if frame[:4] != PROTOCOL:  # a transform header: this channel never asked for it
            self._break(ChannelBroken("trame SMB chiffrée ou inconnue"))
            raise self.broken
        view, offset = memoryview(frame), 0
        while True:
            _, status, command, credit, flags, nxt, mid = _ANSWER.unpack_from(frame, offset + 6)
            end = offset + nxt if nxt else size
            self.high += credit if (credit or self.multi_credit) else 1
            interim = status == STATUS_PENDING and flags & FLAG_ASYNC
            if not interim:
                pdu = view[offset:end]
                if not flags & FLAG_SIGNED or not self._verify(pdu, mid):
                    self._break(ChannelBroken(f"signature SMB invalide (message {mid})"))
                    raise self.broken
                self.answers[mid] = Answer(status, command, pdu)
                self.outstanding.discard(mid)
            if not nxt:
                return
            offset = end

    def _verify(self, pdu: memoryview, mid: int) -> bool:
        """The signature is computed with its own field zeroed: zeroed in place (the frame is
        ours), so a 1 MiB READ answer is not copied to be checked."""
        signature = bytes(pdu[48:64])
        pdu[48:64] = _ZERO16
        return hmac.compare_digest(self.sign(pdu, mid, True), signature)

    def take(self, mid: int) -> Answer:
        """The answer to request `mid`, reading frames until it came."""
        answers = self.answers
        while mid not in answers:
            if self.broken is not None:
                raise ChannelBroken(f"canal SMB fermé: {self.broken}")
            self._read_frame()
        return answers.pop(mid)

    def call(self, messages, related=True) -> list[Answer]:
        return [self.take(mid) for mid in self.send(messages, related)]

    # --- lifetime -----------------------------------------------------------------------------
    def _break(self, exc: BaseException) -> None:
        if self.broken is None:
            self.broken = exc
            self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.tcp.close()
