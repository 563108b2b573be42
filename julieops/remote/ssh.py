"""SSH transport (paramiko): pinned host keys, streamed exec, SFTP files.

Practice machines run Windows' own OpenSSH server (default shell cmd.exe): `os="windows"`.
A POSIX host (`os="posix"`) can do everything except PowerShell.
"""

from __future__ import annotations

import contextlib
import io
import posixpath
import select
import shlex
import stat as statmod
import subprocess
import time
import uuid
from collections.abc import Sequence
from typing import Any

from julieops.paramiko_lean import paramiko
from julieops.remote import powershell as ps
from julieops.remote.base import (
    AuthenticationFailed,
    CancelCheck,
    ClosedOnExit,
    CommandCancelled,
    CommandResult,
    ConnectionFailed,
    FileStat,
    HostKeyError,
    LineCallback,
    LineSplitter,
    NotSupported,
    RemoteError,
    RunLimits,
    redact,
)
from julieops.remote.hostkeys import PinnedFingerprintPolicy

PGID_MARKER = "JULIEOPS-PGID:"
_KEY_CLASSES = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)


def load_private_key(pkey: paramiko.PKey | str, passphrase: str | None = None) -> paramiko.PKey:
    """A paramiko key from an object or from PEM/OpenSSH text (as stored in a Credential)."""
    if isinstance(pkey, paramiko.PKey):
        return pkey
    for cls in _KEY_CLASSES:
        try:
            return cls.from_private_key(io.StringIO(pkey), password=passphrase)
        except (paramiko.SSHException, ValueError):
            continue
    raise AuthenticationFailed("Clé privée SSH illisible (format non reconnu ou phrase secrète).")


class SSHTransport(ClosedOnExit):
    kind = "ssh"

    def __init__(
        self,
        host: str,
        port: int = 22,
        username: str = "",
        password: str | None = None,
        pkey: paramiko.PKey | str | None = None,
        pinned_fingerprint: str | None = None,
        *,
        os: str = "windows",
        encoding: str = "utf-8",
        timeout: float = 15.0,
        retries: int = 2,
    ):
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self._pkey = load_private_key(pkey) if pkey is not None else None
        self.pinned_fingerprint = pinned_fingerprint
        self.os = os
        self.encoding = encoding
        self.timeout = timeout
        self.retries = retries
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    def __repr__(self) -> str:
        return f"<SSHTransport {self.username}@{self.host}:{self.port}>"

    # -- connection ---------------------------------------------------------------------------

    def connect(self) -> paramiko.SSHClient:
        active = self._client is not None and self._client.get_transport() is not None
        if active and self._client.get_transport().is_active():
            return self._client
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            client = paramiko.SSHClient()
            # No system known_hosts: the only trusted key is the one confirmed for this machine.
            client.set_missing_host_key_policy(PinnedFingerprintPolicy(self.pinned_fingerprint))
            try:
                client.connect(
                    self.host,
                    self.port,
                    username=self.username,
                    password=self._password,
                    pkey=self._pkey,
                    look_for_keys=False,
                    allow_agent=False,
                    timeout=self.timeout,
                    banner_timeout=self.timeout,
                    auth_timeout=self.timeout,
                )
            except HostKeyError:
                client.close()
                raise
            except paramiko.AuthenticationException:
                client.close()
                raise AuthenticationFailed(
                    f"Authentification SSH refusée par {self.host} pour {self.username}."
                ) from None
            except (OSError, paramiko.SSHException) as exc:
                client.close()
                last = exc
                if attempt < self.retries:
                    time.sleep(min(2**attempt, 5))
                continue
            self._client = client
            return client
        message = redact(str(last), self._password)
        raise ConnectionFailed(f"Connexion SSH impossible à {self.host}:{self.port} ({message})")

    def close(self) -> None:
        if self._sftp is not None:
            self._sftp.close()
            self._sftp = None
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- commands -----------------------------------------------------------------------------

    def command_line(self, command: str | Sequence[str]) -> str:
        if isinstance(command, str):
            return command
        if self.os == "windows":
            return subprocess.list2cmdline(list(command))
        return shlex.join(command)

    def run(
        self,
        command: str | Sequence[str],
        *,
        on_line: LineCallback | None = None,
        cancel: CancelCheck | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        client = self.connect()
        line = self.command_line(command)
        group: list[int] = []
        if self.os == "posix":
            # sshd starts the command in a new session: $$ is its process group, which cancel
            # kills (OpenSSH refuses "signal" requests for root sessions, which skip privsep).
            line = f"echo {PGID_MARKER}$$ >&2; exec {line}"
            on_line = _group_catcher(group, on_line)
        chan = client.get_transport().open_session()
        try:
            chan.exec_command(line)
            if stdin is not None:
                chan.sendall(stdin)
            chan.shutdown_write()
            out = LineSplitter("stdout", self.encoding, on_line)
            err = LineSplitter("stderr", self.encoding, on_line)
            limits = RunLimits(cancel, timeout)
            while True:
                stop = limits.reached("Commande annulée : processus distant arrêté.")
                if stop is not None:
                    if isinstance(stop, CommandCancelled):
                        self._await_group(chan, err, group)
                    self._kill(chan, group)
                    raise stop
                select.select([chan], [], [], 0.2)
                while chan.recv_ready():
                    out.feed(chan.recv(65536))
                while chan.recv_stderr_ready():
                    err.feed(chan.recv_stderr(65536))
                # Drain both streams before asking for the status: recv_exit_status() can block
                # forever when unread output fills the window.
                if (
                    chan.exit_status_ready()
                    and not chan.recv_ready()
                    and not chan.recv_stderr_ready()
                ):
                    break
            out.feed(b"", final=True)
            err.feed(b"", final=True)
            stderr = err.text()
            if self.os == "posix" and stderr.startswith(PGID_MARKER):
                stderr = stderr.split("\n", 1)[1] if "\n" in stderr else ""
            return CommandResult(chan.recv_exit_status(), out.text(), stderr)
        finally:
            chan.close()

    def _await_group(self, chan: paramiko.Channel, err: LineSplitter, group: list[int]) -> None:
        """sshd forwards stdout and stderr independently: the marker may still be on its way."""
        deadline = time.monotonic() + 3
        while self.os == "posix" and not group and time.monotonic() < deadline:
            select.select([chan], [], [], 0.1)
            while chan.recv_stderr_ready():
                err.feed(chan.recv_stderr(65536))

    def _kill(self, chan: paramiko.Channel, group: list[int]) -> None:
        """Stop the command and everything it started: kill its process group (POSIX), and
        send the RFC 4254 "signal" request (honoured by OpenSSH for non-root sessions)."""
        message = paramiko.Message()
        message.add_byte(paramiko.common.cMSG_CHANNEL_REQUEST)
        message.add_int(chan.remote_chanid)
        message.add_string("signal")
        message.add_boolean(False)
        message.add_string("KILL")
        with contextlib.suppress(OSError, paramiko.SSHException):
            chan.transport._send_user_message(message)
        if group:
            killer = chan.transport.open_session()
            killer.exec_command(f"kill -KILL -- -{int(group[0])}")
            killer.recv_exit_status()
            killer.close()
        chan.close()

    def powershell(
        self, script: str, params: dict[str, Any] | None = None, *, secrets: dict | None = None
    ) -> Any:
        if self.os != "windows":
            raise NotSupported(
                f"PowerShell n'est pas disponible sur {self.host} (hôte non Windows)."
            )
        return ps.run_script(self, script, params, secrets)

    # -- files (SFTP) ---------------------------------------------------------------------------

    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            self._sftp = self.connect().open_sftp()
        return self._sftp

    def _path(self, path: str) -> str:
        # Windows OpenSSH's SFTP takes forward slashes, with a leading slash before the drive.
        if self.os == "windows" and len(path) > 1 and path[1] == ":":
            path = "/" + path.replace("\\", "/")
        return path

    def read_file(self, path: str) -> bytes:
        try:
            with self.sftp().open(self._path(path), "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise RemoteError(f"Lecture impossible de {path} sur {self.host} ({exc})") from None

    def write_file(self, path: str, data: bytes, mtime: float | None = None) -> None:
        """SFTP (version 3) carries whole seconds: a fractional `mtime` is truncated."""
        target = self._path(path)
        directory, name = posixpath.split(target)
        temp = posixpath.join(directory, f".{name}.julieops-{uuid.uuid4().hex[:8]}.tmp")
        sftp = self.sftp()
        try:
            with sftp.open(temp, "wb") as handle:
                handle.set_pipelined(True)
                handle.write(data)
            if mtime is not None:
                sftp.utime(temp, (mtime, mtime))
            try:
                sftp.posix_rename(temp, target)
            except OSError:
                # Servers without the posix-rename extension (Windows) refuse to overwrite.
                with contextlib.suppress(OSError):
                    sftp.remove(target)
                sftp.rename(temp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                sftp.remove(temp)
            raise RemoteError(f"Écriture impossible de {path} sur {self.host} ({exc})") from None

    def make_dirs(self, path: str) -> None:
        sftp = self.sftp()
        current = self._path(path).rstrip("/") or "/"
        missing: list[str] = []
        try:
            while True:
                try:
                    attrs = sftp.stat(current)
                except FileNotFoundError:
                    parent = posixpath.dirname(current)
                    if parent == current:
                        raise
                    missing.append(current)
                    current = parent
                    continue
                if not statmod.S_ISDIR(attrs.st_mode or 0):
                    raise RemoteError(
                        f"Création du dossier {path} impossible sur {self.host} : "
                        f"{current} n'est pas un dossier."
                    )
                break
            for folder in reversed(missing):
                sftp.mkdir(folder)
        except OSError as exc:
            raise RemoteError(
                f"Création du dossier {path} impossible sur {self.host} ({exc})"
            ) from None

    def _lstat_mode(self, path: str, what: str) -> int:
        try:
            return self.sftp().lstat(self._path(path)).st_mode or 0
        except OSError as exc:
            raise RemoteError(f"{what} impossible de {path} sur {self.host} ({exc})") from None

    def remove_file(self, path: str) -> None:
        if not statmod.S_ISREG(self._lstat_mode(path, "Suppression")):
            raise RemoteError(f"Suppression refusée : {path} n'est pas un fichier ({self.host}).")
        try:
            self.sftp().remove(self._path(path))
        except OSError as exc:
            raise RemoteError(f"Suppression impossible de {path} sur {self.host} ({exc})") from None

    def remove_dir(self, path: str) -> None:
        if not statmod.S_ISDIR(self._lstat_mode(path, "Suppression")):
            raise RemoteError(f"Suppression refusée : {path} n'est pas un dossier ({self.host}).")
        try:
            self.sftp().rmdir(self._path(path))  # the server refuses a folder that is not empty
        except OSError as exc:
            raise RemoteError(
                f"Suppression du dossier {path} impossible sur {self.host} ({exc})"
            ) from None

    def set_mtime(self, path: str, mtime: float) -> None:
        try:
            self.sftp().utime(self._path(path), (mtime, mtime))
        except OSError as exc:
            raise RemoteError(f"Date de {path} non modifiable sur {self.host} ({exc})") from None

    def stat(self, path: str) -> FileStat:
        try:
            attrs = self.sftp().stat(self._path(path))
        except OSError as exc:
            raise RemoteError(f"{path} introuvable sur {self.host} ({exc})") from None
        return _file_stat(path, attrs)

    def list_tree(self, path: str) -> list[FileStat]:
        """Every entry below `path` (not following symbolic links), paths relative to it."""
        sftp = self.sftp()
        found: list[FileStat] = []
        pending = [""]
        root = self._path(path)
        while pending:
            relative = pending.pop()
            for attrs in sftp.listdir_attr(posixpath.join(root, relative) if relative else root):
                child = posixpath.join(relative, attrs.filename) if relative else attrs.filename
                entry = _file_stat(child, attrs)
                found.append(entry)
                if entry.is_dir:
                    pending.append(child)
        return sorted(found, key=lambda e: e.path)


def _group_catcher(group: list[int], on_line: LineCallback | None) -> LineCallback:
    """Take the process-group marker line out of stderr before the caller sees it."""

    def catch(stream: str, line: str) -> None:
        if not group and stream == "stderr" and line.startswith(PGID_MARKER):
            group.append(int(line[len(PGID_MARKER) :]))
            return
        if on_line is not None:
            on_line(stream, line)

    return catch


def _file_stat(path: str, attrs: paramiko.SFTPAttributes) -> FileStat:
    return FileStat(
        path=path,
        size=attrs.st_size or 0,
        mtime=float(attrs.st_mtime or 0),
        is_dir=statmod.S_ISDIR(attrs.st_mode or 0),
    )
