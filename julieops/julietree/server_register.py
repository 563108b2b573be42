"""Parse `Datas\\server.register`: one `SERVICE URL` line per service Julie's posts call.

    SMARTCONTACT      http://serveur:8097
    JULIEONSITE http://serveur:8095
    JULIEONLINESERVICE net.tcp://serveur:9001

The file is written on Windows: expect CRLF, a UTF-8 BOM or ANSI (cp1252) bytes, tabs or runs
of spaces, and any letter case. Lines that do not parse are kept for the report, not dropped.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

SMS_SERVICE = "JULIEONLINESERVICE"
MAIN_SERVICE = "SMARTCONTACT"

_LINE = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*[=\s]\s*(\S+)\s*$")
_URL = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<host>\[[^\]]+\]|[^:/?#]+)(?::(?P<port>\d+))?"
)


@dataclass(frozen=True)
class Endpoint:
    service: str
    scheme: str
    host: str
    port: int | None
    url: str


@dataclass
class ServerRegister:
    services: dict[str, Endpoint] = field(default_factory=dict)
    unparsed: list[str] = field(default_factory=list)

    def host_of(self, service: str) -> str | None:
        endpoint = self.services.get(service.upper())
        return endpoint.host if endpoint else None

    def as_dict(self) -> dict:
        return {
            "services": {name: asdict(ep) for name, ep in self.services.items()},
            "unparsed_lines": list(self.unparsed),
        }


def decode_windows_text(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_server_register(content: str | bytes) -> ServerRegister:
    text = decode_windows_text(content) if isinstance(content, bytes) else content
    text = text.lstrip("\ufeff")
    result = ServerRegister()
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "//")):
            continue
        match = _LINE.match(line)
        url = _URL.match(match.group(2)) if match else None
        if not match or not url:
            result.unparsed.append(line)
            continue
        service = match.group(1).upper()
        port = url.group("port")
        result.services[service] = Endpoint(
            service=service,
            scheme=url.group("scheme").lower(),
            host=url.group("host").strip("[]"),
            port=int(port) if port else None,
            url=match.group(2),
        )
    return result


_LOOPBACK = {"localhost", "127.0.0.1", "::1", "."}


def same_host(a: str | None, b: str | None) -> bool:
    """Windows host names: case-insensitive; `SERVEUR` equals `serveur.cabinet.local`."""
    if not a or not b:
        return False
    a, b = a.casefold().rstrip("."), b.casefold().rstrip(".")
    if a == b:
        return True
    if a.replace(".", "").isdigit() or b.replace(".", "").isdigit():
        return False  # IP addresses compare whole
    if "." in a and "." in b:
        return False
    return a.split(".")[0] == b.split(".")[0]


def is_loopback(host: str | None) -> bool:
    return bool(host) and host.casefold() in _LOOPBACK
