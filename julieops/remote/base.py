"""The transport interface every way of reaching a machine implements, and its errors.

A transport runs commands (streaming their output line by line) and moves files. Steps only
see this interface, so the same step code works over WinRM, SSH or on the worker itself.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

# on_line(stream, line): stream is "stdout" or "stderr"; line has no trailing newline.
LineCallback = Callable[[str, str], None]
# cancel() -> True once the caller wants the command stopped.
CancelCheck = Callable[[], bool]


class RemoteError(Exception):
    """Any failure reaching or driving a machine. Messages are in French (shown to technicians)
    and never carry a secret."""


class ConnectionFailed(RemoteError):
    pass


class AuthenticationFailed(RemoteError):
    pass


class HostKeyError(RemoteError):
    """The machine's SSH host key (or TLS certificate) is not the one confirmed for it."""

    def __init__(self, message: str, observed_fingerprint: str, expected_fingerprint: str | None):
        super().__init__(message)
        self.observed_fingerprint = observed_fingerprint
        self.expected_fingerprint = expected_fingerprint


class HostKeyUnconfirmed(HostKeyError):
    """First contact: no fingerprint confirmed yet; `observed_fingerprint` is what to show."""


class HostKeyChanged(HostKeyError):
    """The machine presents another key than the confirmed one: refused."""


class NotSupported(RemoteError):
    """The transport cannot do this here (e.g. PowerShell on a Linux worker): check by hand."""


class CommandCancelled(RemoteError):
    pass


class PowerShellError(RemoteError):
    def __init__(self, message: str, exit_code: int | None = None, details: str = ""):
        super().__init__(message)
        self.exit_code = exit_code
        self.details = details


@dataclass(frozen=True)
class CommandResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True)
class FileStat:
    path: str
    size: int
    mtime: float
    is_dir: bool


@dataclass(frozen=True)
class Secret:
    """A string that must not leak into reprs, logs or exception messages."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


class Transport(Protocol):
    kind: str
    host: str

    def run(
        self,
        command: str | Sequence[str],
        *,
        on_line: LineCallback | None = None,
        cancel: CancelCheck | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
    ) -> CommandResult: ...

    def read_file(self, path: str) -> bytes: ...

    def write_file(self, path: str, data: bytes, mtime: float | None = None) -> None:
        """Atomic: a temporary name in the same folder, renamed over `path` once complete
        (with its modification time already set when `mtime` is given)."""

    def make_dirs(self, path: str) -> None:
        """Create the folder and its missing parents; an existing folder is fine."""

    def remove_file(self, path: str) -> None:
        """Remove one file; refuses a folder or a link (RemoteError), and an absent path."""

    def remove_dir(self, path: str) -> None:
        """Remove one empty folder; refuses a non-empty one or a file (RemoteError)."""

    def set_mtime(self, path: str, mtime: float) -> None: ...

    def list_tree(self, path: str) -> list[FileStat]: ...

    def stat(self, path: str) -> FileStat: ...

    def powershell(
        self, script: str, params: dict[str, Any] | None = None, *, secrets: dict | None = None
    ) -> Any: ...

    def close(self) -> None: ...


class ClosedOnExit:
    """`with transport:` closes it at the end of the block."""

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class RunLimits:
    """When a running command must be stopped: the caller's cancel check, or its timeout
    (counted from the moment the command has started)."""

    def __init__(self, cancel: CancelCheck | None, timeout: float | None):
        self.cancel = cancel
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout if timeout else None

    def reached(self, cancelled: str) -> RemoteError | None:
        """The error to raise once the command is killed (`cancelled`: the message for a
        cancel), or None while it may go on."""
        if self.cancel is not None and self.cancel():
            return CommandCancelled(cancelled)
        if self.deadline is not None and time.monotonic() > self.deadline:
            return RemoteError(f"Commande arrêtée après {self.timeout:.0f} s sans fin.")
        return None


class LineSplitter:
    """Turns byte chunks into complete lines for one stream (incremental decoding, so a
    multi-byte character split across chunks is not mangled)."""

    def __init__(self, stream: str, encoding: str, on_line: LineCallback | None):
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self.on_line = on_line
        self.pending = ""
        self.parts: list[str] = []

    def feed(self, chunk: bytes, final: bool = False) -> None:
        text = self.decoder.decode(chunk, final=final)
        self.parts.append(text)
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        if final and self.pending:
            lines.append(self.pending)
            self.pending = ""
        if self.on_line:
            for line in lines:
                self.on_line(self.stream, line.rstrip("\r"))

    def text(self) -> str:
        return "".join(self.parts)


def redact(text: str, *secrets: str | None) -> str:
    """Remove secret values from a message before it is raised or logged."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
