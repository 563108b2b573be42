"""A WS-Management endpoint on loopback that answers pywinrm's real HTTP requests: the test
suite's stand-in for Windows posts, and the transport of the training practice's simulator.

It implements the WinRS shell operations a WinRM client uses (Create, Command, Send, Receive,
Signal, Delete), replays recorded Windows output chunk by chunk, can answer a Receive with the
OperationTimeout fault WinRM sends when a command has printed nothing yet, and records what it
was asked (command lines, stdin, signals, raw bodies) so tests can check the scripts sent.

Authentication is HTTP Basic (checked), over plain HTTP or over HTTPS with a self-signed
certificate. NTLM/Kerberos message encryption is not implemented here.
"""

from __future__ import annotations

import base64
import itertools
import json
import ssl
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from julieops.remote import open_transport
from julieops.remote.powershell import RESULT_MARKER, decode_stdin
from training import certs

SOAP = "http://www.w3.org/2003/05/soap-envelope"
ADDRESSING = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
FAULT = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
NS = {"s": SOAP, "a": ADDRESSING, "w": WSMAN, "rsp": SHELL}
OPERATION_TIMEOUT = 2150858793  # 0x80338029


@dataclass
class Reply:
    """What a recorded command printed: one (stream, bytes) chunk per Receive."""

    chunks: list[tuple[str, bytes]] = field(default_factory=list)
    exit_code: int = 0
    timeouts_first: int = 0  # Receive answered with the OperationTimeout fault this many times
    endless: bool = False  # keep answering OperationTimeout (a long job, for cancel tests)


@dataclass
class ReceivedCommand:
    shell_id: str
    command_id: str
    command_line: str
    codepage: str | None
    options: dict[str, str]
    stdin: bytes = b""
    stdin_closed: bool = False
    signals: list[str] = field(default_factory=list)
    reply: Reply | None = None
    sent: int = 0

    def powershell_job(self) -> dict:
        """The script, params and secrets a PowerShell call sent on stdin."""
        return decode_stdin(self.stdin)


Responder = Callable[[ReceivedCommand], Reply]


def powershell_reply(result, *, stderr: bytes = b"", chunk_size: int = 0) -> Reply:
    """A successful call of the PowerShell bootstrap returning `result`."""
    line = RESULT_MARKER + json.dumps({"ok": True, "result": result}, ensure_ascii=False)
    return stream_reply(line.encode("utf-8") + b"\r\n", stderr=stderr, chunk_size=chunk_size)


def powershell_failure(message: str, where: str = "") -> Reply:
    line = RESULT_MARKER + json.dumps({"ok": False, "error": message, "where": where})
    return Reply([("stdout", line.encode("utf-8") + b"\r\n")], exit_code=1)


def stream_reply(stdout: bytes, *, stderr: bytes = b"", exit_code=0, chunk_size=0) -> Reply:
    size = chunk_size or max(len(stdout), 1)
    chunks = [("stdout", stdout[i : i + size]) for i in range(0, len(stdout), size)]
    if stderr:
        chunks.append(("stderr", stderr))
    return Reply(chunks, exit_code)


def _envelope(action: str, relates_to: str, body: str) -> bytes:
    return (
        f'<s:Envelope xmlns:s="{SOAP}" xmlns:a="{ADDRESSING}" xmlns:w="{WSMAN}" '
        f'xmlns:rsp="{SHELL}"><s:Header><a:Action>{action}</a:Action>'
        f"<a:MessageID>uuid:00000000-0000-0000-0000-{next(_ids):012d}</a:MessageID>"
        f"<a:RelatesTo>{relates_to}</a:RelatesTo></s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


_ids = itertools.count(1)


class WsmanEndpoint:
    def __init__(
        self,
        responder: Responder,
        *,
        username: str = "julie-admin",
        password: str = "Pa55-w0rd!",  # noqa: S107 - test endpoint
        certfile: Path | None = None,
        keyfile: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_history: bool = True,
    ):
        self.responder = responder
        self.username = username
        self.password = password
        self.commands: list[ReceivedCommand] = []
        self.shells: dict[str, dict] = {}
        self.deleted_shells: list[str] = []
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()
        # The tests read what was sent; a long-lived simulator forgets a shell once deleted.
        self.keep_history = keep_history
        self._shell_ids = itertools.count(1)
        self._command_ids = itertools.count(1)
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.scheme = "http"
        if certfile:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certfile, keyfile)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.host = host
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def transport(self, **overrides):
        """A WinRM client for this endpoint: its account, HTTP Basic, short timeouts; over
        plain HTTP only with the explicit opt-in. `overrides` replace any of these options
        (`username`, `password` included)."""
        options = {
            "username": self.username,
            "password": self.password,
            "scheme": self.scheme,
            "auth": "basic",
            "operation_timeout": 1,
            "read_timeout": 5,
        }
        if self.scheme == "http":
            options["allow_unencrypted_http"] = True
        options.update(overrides)
        return open_transport(
            "winrm",
            self.host,
            self.port,
            options.pop("username"),
            options.pop("password"),
            **options,
        )

    # -- protocol -------------------------------------------------------------------------------

    def _handler(self):
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                expected = "Basic " + base64.b64encode(
                    f"{endpoint.username}:{endpoint.password}".encode()
                ).decode("ascii")
                if self.headers.get("Authorization") != expected:
                    self._send(401, b"", "text/plain")
                    return
                with endpoint.lock:
                    if endpoint.keep_history:
                        endpoint.bodies.append(body)
                    status, answer = endpoint.handle(body)
                self._send(status, answer, "application/soap+xml;charset=UTF-8")

            def _send(self, status, data, content_type):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def handle(self, body: bytes) -> tuple[int, bytes]:
        root = ET.fromstring(body)  # noqa: S314 - loopback only; the stdlib parser fetches no entity
        action = root.findtext("s:Header/a:Action", namespaces=NS)
        message_id = root.findtext("s:Header/a:MessageID", namespaces=NS)
        shell_id = root.findtext(".//w:Selector[@Name='ShellId']", namespaces=NS)
        verb = action.rsplit("/", 1)[-1]
        reply_action = action + "Response"
        if verb == "Create":
            shell_id = f"SHELL-{next(self._shell_ids)}"
            options = {o.get("Name"): o.text for o in root.findall(".//w:OptionSet/w:Option", NS)}
            self.shells[shell_id] = {"codepage": options.get("WINRS_CODEPAGE")}
            body = (
                f'<x:ResourceCreated xmlns:x="{TRANSFER}"><a:ReferenceParameters><w:SelectorSet>'
                f'<w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet>'
                f"</a:ReferenceParameters></x:ResourceCreated>"
            )
            return 200, _envelope(reply_action, message_id, body)
        if verb == "Command":
            command_id = f"CMD-{next(self._command_ids)}"
            line = root.findtext(".//rsp:CommandLine/rsp:Command", namespaces=NS) or ""
            arguments = root.findtext(".//rsp:CommandLine/rsp:Arguments", namespaces=NS)
            if arguments:
                line = f"{line} {arguments}"
            options = {o.get("Name"): o.text for o in root.findall(".//w:OptionSet/w:Option", NS)}
            self.commands.append(
                ReceivedCommand(
                    shell_id, command_id, line, self.shells[shell_id]["codepage"], options
                )
            )
            body = (
                f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId>"
                "</rsp:CommandResponse>"
            )
            return 200, _envelope(reply_action, message_id, body)
        if verb == "Send":
            stream = root.find(".//rsp:Send/rsp:Stream", NS)
            command = self._command(stream.get("CommandId"))
            command.stdin += base64.b64decode(stream.text or "")
            command.stdin_closed = stream.get("End") == "true"
            return 200, _envelope(reply_action, message_id, "<rsp:SendResponse/>")
        if verb == "Receive":
            desired = root.find(".//rsp:DesiredStream", NS)
            return self._receive(self._command(desired.get("CommandId")), reply_action, message_id)
        if verb == "Signal":
            signal = root.find(".//rsp:Signal", NS)
            code = signal.findtext("rsp:Code", namespaces=NS) or ""
            self._command(signal.get("CommandId")).signals.append(code.rsplit("/", 1)[-1])
            return 200, _envelope(reply_action, message_id, "<rsp:SignalResponse/>")
        if verb == "Delete":
            if self.keep_history:
                self.deleted_shells.append(shell_id)
            else:
                self.shells.pop(shell_id, None)
                self.commands = [c for c in self.commands if c.shell_id != shell_id]
            return 200, _envelope(reply_action, message_id, "")
        return 500, b""

    def _command(self, command_id: str) -> ReceivedCommand:
        return next(c for c in self.commands if c.command_id == command_id)

    def _receive(self, command: ReceivedCommand, action: str, message_id: str):
        if command.reply is None:
            command.reply = self.responder(command)
        reply = command.reply
        if reply.endless or reply.timeouts_first > 0:
            reply.timeouts_first -= 1
            return 500, self._timeout_fault(message_id)
        chunk = reply.chunks[command.sent] if command.sent < len(reply.chunks) else None
        command.sent += 1
        streams = ""
        if chunk is not None:
            name, data = chunk
            encoded = base64.b64encode(data).decode("ascii")
            streams = (
                f'<rsp:Stream Name="{name}" CommandId="{command.command_id}">{encoded}</rsp:Stream>'
            )
        if command.sent < len(reply.chunks):
            state = (
                f'<rsp:CommandState CommandId="{command.command_id}" '
                f'State="{SHELL}/CommandState/Running"/>'
            )
        else:
            streams += (
                f'<rsp:Stream Name="stdout" CommandId="{command.command_id}" End="true"/>'
                f'<rsp:Stream Name="stderr" CommandId="{command.command_id}" End="true"/>'
            )
            state = (
                f'<rsp:CommandState CommandId="{command.command_id}" '
                f'State="{SHELL}/CommandState/Done"><rsp:ExitCode>{reply.exit_code}'
                f"</rsp:ExitCode></rsp:CommandState>"
            )
        body = f"<rsp:ReceiveResponse>{streams}{state}</rsp:ReceiveResponse>"
        return 200, _envelope(action, message_id, body)

    @staticmethod
    def _timeout_fault(message_id: str) -> bytes:
        return (
            f'<s:Envelope xmlns:s="{SOAP}" xmlns:a="{ADDRESSING}" xmlns:f="{FAULT}">'
            f"<s:Header><a:RelatesTo>{message_id}</a:RelatesTo></s:Header><s:Body><s:Fault>"
            "<s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:TimedOut</s:Value>"
            '</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">The WS-Management '
            "service cannot complete the operation within the time specified in "
            "OperationTimeout.</s:Text></s:Reason><s:Detail>"
            f'<f:WSManFault Code="{OPERATION_TIMEOUT}" Machine="127.0.0.1">'
            "<f:Message>The WS-Management service cannot complete the operation within the "
            "time specified in OperationTimeout.</f:Message></f:WSManFault></s:Detail>"
            "</s:Fault></s:Body></s:Envelope>"
        ).encode()


def self_signed_certificate(directory: Path, name: str = "NOUVEAU-SRV") -> tuple[Path, Path, bytes]:
    """Like the one `winrm quickconfig -transport:https` setups use."""
    return certs.self_signed_certificate(directory, name)
