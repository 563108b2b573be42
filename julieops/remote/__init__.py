"""Reaching machines: one interface (`Transport`), three ways (WinRM, SSH, local).

Django-free: steps get a transport from `open_transport()` with the machine's settings and its
decrypted credential, and only use the interface in `base.py`.
"""

from __future__ import annotations

from typing import Any

from julieops.remote.base import (
    AuthenticationFailed,
    CommandCancelled,
    CommandResult,
    ConnectionFailed,
    FileStat,
    HostKeyChanged,
    HostKeyError,
    HostKeyUnconfirmed,
    NotSupported,
    PowerShellError,
    RemoteError,
    Transport,
)

KINDS = ("winrm", "ssh", "local")


def open_transport(
    kind: str,
    host: str,
    port: int | None = None,
    username: str = "",
    password: str | None = None,
    pkey: Any = None,
    pinned_fingerprint: str | None = None,
    **options: Any,
) -> Transport:
    """A transport for one machine. Nothing is contacted until the first call.

    options: for winrm `scheme`, `auth`, `ca_trust_path`, `message_encryption`,
    `kerberos_delegation`, `operation_timeout`, `read_timeout`, `retries`, `codepage`;
    for ssh `os` ("windows"/"posix"), `encoding`, `timeout`, `retries`."""
    if kind == "winrm":
        from julieops.remote.winrm import WinRMTransport

        return WinRMTransport(host, port, username, password, pinned_fingerprint, **options)
    if kind == "ssh":
        from julieops.remote.ssh import SSHTransport

        return SSHTransport(
            host, port or 22, username, password, pkey, pinned_fingerprint, **options
        )
    if kind == "local":
        from julieops.remote.local import LocalTransport

        return LocalTransport(host, **options)
    raise ValueError(f"unknown transport kind: {kind!r}")


__all__ = [
    "KINDS",
    "AuthenticationFailed",
    "CommandCancelled",
    "CommandResult",
    "ConnectionFailed",
    "FileStat",
    "HostKeyChanged",
    "HostKeyError",
    "HostKeyUnconfirmed",
    "NotSupported",
    "PowerShellError",
    "RemoteError",
    "Transport",
    "open_transport",
]
