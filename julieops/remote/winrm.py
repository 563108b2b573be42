"""WinRM transport (pywinrm's low-level Protocol), so output streams while a command runs.

Security defaults: HTTPS on 5986 with the server certificate checked, either against a
fingerprint pinned for this machine or against a CA. Plain HTTP is accepted only with an
authentication that encrypts every message (NTLM, Kerberos, CredSSP), or with an explicit,
test-only opt-in.

Every `run()` gets its own WinRS shell: closing it makes Windows end every process the command
started (they live in the shell's job object), which is how cancelling kills the process tree.
"""

from __future__ import annotations

import base64
import contextlib
import subprocess
import time
import uuid
from collections.abc import Sequence
from typing import Any

import requests
import winrm
import xmltodict
from requests.adapters import HTTPAdapter
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
)

from julieops.remote import powershell as ps
from julieops.remote.base import (
    AuthenticationFailed,
    CancelCheck,
    ClosedOnExit,
    CommandResult,
    ConnectionFailed,
    FileStat,
    HostKeyChanged,
    HostKeyUnconfirmed,
    LineCallback,
    LineSplitter,
    RemoteError,
    RunLimits,
    redact,
)
from julieops.remote.hostkeys import fetch_certificate_fingerprint, normalize_fingerprint

ENCRYPTING_AUTH = {"ntlm", "kerberos", "credssp"}
SIGNAL_CTRL_C = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c"
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
STDIN_CHUNK = 64 * 1024  # bytes per Send; the default MaxEnvelopeSize is 500 KB


class _PinnedCertificateAdapter(HTTPAdapter):
    """Accept exactly the certificate whose SHA-256 fingerprint was confirmed (urllib3 checks
    it on every connection, in place of CA validation)."""

    def __init__(self, fingerprint: str):
        self._fingerprint = normalize_fingerprint(fingerprint)
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["assert_fingerprint"] = self._fingerprint
        super().init_poolmanager(*args, **kwargs)


def connection_cause(exc: Exception) -> str:
    """What actually happened, in French, from a requests/urllib3 connection error (their
    messages carry the socket error's text: refused, timed out, name unknown, reset)."""
    text = str(exc)
    causes = (
        ("Connection refused", "connexion refusée (port fermé ou service WinRM arrêté)"),
        ("Read timed out", "délai de réponse dépassé"),
        ("timed out", "délai dépassé (machine éteinte, pare-feu ou mauvaise adresse)"),
        ("Name or service not known", "nom de machine inconnu (DNS)"),
        ("No route to host", "aucune route vers la machine (réseau)"),
        ("Connection reset", "connexion coupée par la machine"),
        ("CERTIFICATE_VERIFY_FAILED", "certificat TLS refusé"),
        ("certificate verify failed", "certificat TLS refusé"),
        ("WRONG_VERSION_NUMBER", "le port ne parle pas TLS (HTTP sur un port HTTPS ?)"),
    )
    for needle, cause in causes:
        if needle in text:
            return cause
    if isinstance(exc, requests.exceptions.Timeout):
        return "délai dépassé"
    return f"erreur de connexion ({type(exc).__name__})"


class WinRMTransport(ClosedOnExit):
    kind = "winrm"

    def __init__(
        self,
        host: str,
        port: int | None = None,
        username: str = "",
        password: str | None = None,
        pinned_fingerprint: str | None = None,
        *,
        scheme: str = "https",
        auth: str = "ntlm",
        ca_trust_path: str | None = None,
        message_encryption: str = "auto",
        allow_unencrypted_http: bool = False,
        kerberos_delegation: bool = False,
        operation_timeout: int = 20,
        read_timeout: int = 30,
        retries: int = 2,
        codepage: int = 65001,
        encoding: str = "utf-8",
        path: str = "/wsman",
    ):
        if scheme not in ("https", "http"):
            raise ValueError("scheme must be https or http")
        auth = "basic" if auth == "plaintext" else auth
        if scheme == "http":
            if auth in ENCRYPTING_AUTH:
                if message_encryption == "never":
                    raise RemoteError(
                        "WinRM en HTTP sans chiffrement des messages : refusé (utiliser HTTPS)."
                    )
                message_encryption = "always"
            elif not allow_unencrypted_http:
                raise RemoteError(
                    f"WinRM en HTTP avec l'authentification « {auth} » enverrait tout en clair : "
                    "refusé. Utiliser HTTPS (5986), ou NTLM/Kerberos/CredSSP."
                )
        self.host = host
        self.port = port or (5986 if scheme == "https" else 5985)
        self.username = username
        self._password = password
        self.pinned_fingerprint = pinned_fingerprint
        self.scheme = scheme
        self.auth = auth
        self.endpoint = f"{scheme}://{host}:{self.port}{path}"
        self.ca_trust_path = ca_trust_path
        self.message_encryption = message_encryption
        self.kerberos_delegation = kerberos_delegation
        self.operation_timeout = operation_timeout
        self.read_timeout = read_timeout
        self.retries = retries
        self.codepage = codepage
        self.encoding = encoding
        self._protocol: winrm.Protocol | None = None

    def __repr__(self) -> str:
        return f"<WinRMTransport {self.username}@{self.endpoint} auth={self.auth}>"

    def close(self) -> None:
        if self._protocol is not None:
            self._protocol.transport.close_session()
            self._protocol = None

    # -- protocol -------------------------------------------------------------------------------

    def protocol(self) -> winrm.Protocol:
        if self._protocol is not None:
            return self._protocol
        pinned = self.scheme == "https" and bool(self.pinned_fingerprint)
        proto = winrm.Protocol(
            self.endpoint,
            transport=self.auth,
            username=self.username,
            password=self._password,
            **self._certificate_check(pinned),
            message_encryption=self.message_encryption,
            kerberos_delegation=self.kerberos_delegation,
            operation_timeout_sec=self.operation_timeout,
            read_timeout_sec=self.read_timeout,
            proxy=None,
        )
        if pinned:
            session = proto.transport.build_session()
            session.mount("https://", _PinnedCertificateAdapter(self.pinned_fingerprint))
        self._protocol = proto
        return proto

    def _certificate_check(self, pinned: bool) -> dict:
        """How the server's certificate is checked; it never goes unchecked. By default, CA
        validation (the system store or `ca_trust_path`). For a machine whose fingerprint a
        supervisor confirmed (a per-machine setting, audited when confirmed), the pinned
        fingerprint instead: pywinrm's CA check gives way to _PinnedCertificateAdapter, which
        urllib3 applies to every connection (a self-signed WinRM certificate has no CA)."""
        if pinned:
            return {"server_cert_validation": "ignore", "ca_trust_path": None}
        return {"server_cert_validation": "validate", "ca_trust_path": self.ca_trust_path}

    def _call(self, what: str, func, *args, **kwargs):
        """One WS-Man request with retries on connection problems (not on refusals)."""
        for attempt in range(self.retries + 1):
            try:
                return func(*args, **kwargs)
            except WinRMOperationTimeoutError:
                raise
            except InvalidCredentialsError:
                raise AuthenticationFailed(
                    f"Authentification WinRM refusée par {self.host} pour {self.username}."
                ) from None
            except requests.exceptions.SSLError as exc:
                self._certificate_refused(exc)
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                if attempt >= self.retries:
                    message = redact(connection_cause(exc), self._password)
                    raise ConnectionFailed(
                        f"WinRM injoignable sur {self.endpoint} ({what}) : {message}."
                    ) from None
                time.sleep(min(2**attempt, 5))
            except WinRMTransportError as exc:
                if attempt >= self.retries or exc.code < 500:
                    raise RemoteError(
                        f"WinRM a répondu {exc.code} à {what} sur {self.host}."
                    ) from None
                time.sleep(min(2**attempt, 5))
            except WinRMError as exc:
                raise RemoteError(
                    f"Erreur WinRM ({what}) sur {self.host} : {redact(str(exc), self._password)}"
                ) from None

    def _certificate_refused(self, exc: Exception):
        try:
            observed = fetch_certificate_fingerprint(self.host, self.port)
        except ConnectionFailed as failed:
            # No certificate could be read: the TLS failure is a connection problem (port
            # closed, connection reset), not an unconfirmed certificate; say what happened.
            raise ConnectionFailed(
                f"WinRM injoignable sur {self.endpoint} : {connection_cause(exc)} "
                f"(certificat illisible : {failed})."
            ) from None
        if self.pinned_fingerprint:
            raise HostKeyChanged(
                f"Le certificat WinRM de {self.host} a changé (reçu {observed}) : "
                "connexion refusée.",
                observed,
                self.pinned_fingerprint,
            ) from None
        raise HostKeyUnconfirmed(
            f"Certificat WinRM de {self.host} non reconnu : empreinte {observed} à confirmer "
            "sur la fiche de la machine (ou installer l'autorité de certification).",
            observed,
            None,
        ) from None

    def _signal(self, shell_id: str, command_id: str, code: str) -> None:
        proto = self.protocol()
        envelope = proto.build_wsman_header(
            resource_uri=SHELL_URI,
            action="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal",
            shell_id=shell_id,
        )
        body = envelope.setdefault("env:Body", {}).setdefault("rsp:Signal", {})
        body["@CommandId"] = command_id
        body["rsp:Code"] = code
        proto.send_message(xmltodict.unparse({"env:Envelope": envelope}))

    # -- commands -------------------------------------------------------------------------------

    def run(
        self,
        command: str | Sequence[str],
        *,
        on_line: LineCallback | None = None,
        cancel: CancelCheck | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        proto = self.protocol()
        line = command if isinstance(command, str) else subprocess.list2cmdline(list(command))
        shell_id = self._call("ouverture du shell", proto.open_shell, codepage=self.codepage)
        command_id = None
        killed = False
        try:
            command_id = self._call(
                "lancement de la commande",
                proto.run_command,
                shell_id,
                line,
                console_mode_stdin=stdin is None,
            )
            if stdin is not None:
                chunks = [stdin[i : i + STDIN_CHUNK] for i in range(0, len(stdin), STDIN_CHUNK)]
                for index, chunk in enumerate(chunks or [b""]):
                    self._call(
                        "envoi de l'entrée",
                        proto.send_command_input,
                        shell_id,
                        command_id,
                        chunk,
                        end=index == len(chunks or [b""]) - 1,
                    )
            out = LineSplitter("stdout", self.encoding, on_line)
            err = LineSplitter("stderr", self.encoding, on_line)
            limits = RunLimits(cancel, timeout)
            done = False
            exit_code = -1
            while not done:
                stop = limits.reached("Commande annulée : processus distants arrêtés.")
                if stop is not None:
                    killed = True
                    self._kill(shell_id, command_id)
                    raise stop
                try:
                    stdout, stderr, exit_code, done = self._call(
                        "lecture de la sortie", proto.get_command_output_raw, shell_id, command_id
                    )
                except WinRMOperationTimeoutError:
                    continue  # no output within OperationTimeout: the command is still running
                out.feed(stdout)
                err.feed(stderr)
            out.feed(b"", final=True)
            err.feed(b"", final=True)
            return CommandResult(exit_code, out.text(), err.text())
        finally:
            if not killed:
                self._close(shell_id, command_id)

    def _kill(self, shell_id: str, command_id: str) -> None:
        """Ctrl+C, then terminate, then delete the shell: Windows ends every process of the
        shell's job object, children included."""
        for step in (
            lambda: self._signal(shell_id, command_id, SIGNAL_CTRL_C),
            lambda: self.protocol().cleanup_command(shell_id, command_id),
        ):
            with contextlib.suppress(WinRMError, requests.exceptions.RequestException):
                step()
        self._close(shell_id, None)

    def _close(self, shell_id: str, command_id: str | None) -> None:
        proto = self.protocol()
        try:
            if command_id is not None:
                proto.cleanup_command(shell_id, command_id)
        except (WinRMError, requests.exceptions.RequestException):
            pass
        with contextlib.suppress(WinRMError, requests.exceptions.RequestException):
            proto.close_shell(shell_id, close_session=False)

    def powershell(
        self, script: str, params: dict[str, Any] | None = None, *, secrets: dict | None = None
    ) -> Any:
        return ps.run_script(self, script, params, secrets)

    # -- files (through PowerShell) -------------------------------------------------------------

    def read_file(self, path: str) -> bytes:
        data = self.powershell(READ_FILE, {"Path": path})
        return base64.b64decode(data or "")

    def write_file(self, path: str, data: bytes, mtime: float | None = None) -> None:
        temp = f"{path}.julieops-{uuid.uuid4().hex[:8]}.tmp"
        step = 3 * 256 * 1024  # raw bytes per call; base64 keeps each call well under limits
        try:
            for offset in range(0, max(len(data), 1), step):
                chunk = base64.b64encode(data[offset : offset + step]).decode("ascii")
                self.powershell(APPEND_FILE, {"Path": temp, "Data": chunk, "First": offset == 0})
            params: dict[str, Any] = {"Temp": temp, "Path": path}
            if mtime is not None:
                params["Mtime"] = mtime
            self.powershell(REPLACE_FILE, params)
        except RemoteError:
            with contextlib.suppress(RemoteError):
                self.powershell(REMOVE_TEMP, {"Path": temp})
            raise

    def make_dirs(self, path: str) -> None:
        self.powershell(MAKE_DIRS, {"Path": path})

    def remove_file(self, path: str) -> None:
        self.powershell(REMOVE_FILE, {"Path": path})

    def remove_dir(self, path: str) -> None:
        self.powershell(REMOVE_DIR, {"Path": path})

    def set_mtime(self, path: str, mtime: float) -> None:
        self.powershell(SET_MTIME, {"Path": path, "Mtime": mtime})

    def stat(self, path: str) -> FileStat:
        entry = self.powershell(STAT, {"Path": path})
        return FileStat(path, int(entry["s"]), float(entry["m"]), bool(entry["d"]))

    def list_tree(self, path: str) -> list[FileStat]:
        entries = self.powershell(LIST_TREE, {"Path": path}) or []
        if isinstance(entries, dict):  # ConvertTo-Json unwraps single-element arrays
            entries = [entries]
        found = [
            FileStat(e["p"].replace("\\", "/"), int(e["s"]), float(e["m"]), bool(e["d"]))
            for e in entries
        ]
        return sorted(found, key=lambda e: e.path)


READ_FILE = r"""
# julieops-script: files.read
param([string]$Path)
[Convert]::ToBase64String([IO.File]::ReadAllBytes($Path))
"""

APPEND_FILE = r"""
# julieops-script: files.append
param([string]$Path, [string]$Data, [bool]$First)
$bytes = [Convert]::FromBase64String($Data)
$mode = if ($First) { [IO.FileMode]::Create } else { [IO.FileMode]::Append }
$stream = New-Object IO.FileStream($Path, $mode, [IO.FileAccess]::Write)
try { $stream.Write($bytes, 0, $bytes.Length) } finally { $stream.Dispose() }
$null
"""

# The modification time is set on the temporary file: Move-Item keeps it.
REPLACE_FILE = r"""
# julieops-script: files.replace
param([string]$Temp, [string]$Path, $Mtime = $null)
if ($null -ne $Mtime) {
    $ms = [long][Math]::Round([double]$Mtime * 1000)
    (Get-Item -LiteralPath $Temp -Force).LastWriteTimeUtc =
        [DateTimeOffset]::FromUnixTimeMilliseconds($ms).UtcDateTime
}
Move-Item -LiteralPath $Temp -Destination $Path -Force
$null
"""

REMOVE_TEMP = r"""
# julieops-script: files.remove_temp
param([string]$Path)
Remove-Item -LiteralPath $Path -Force -ErrorAction SilentlyContinue
$null
"""

# New-Item has no -LiteralPath: the .NET call takes the path as it is (creates the missing
# parents, accepts an existing folder, fails on an existing file).
MAKE_DIRS = r"""
# julieops-script: files.make_dirs
param([string]$Path)
[void][IO.Directory]::CreateDirectory($Path)
$null
"""

REMOVE_FILE = r"""
# julieops-script: files.remove_file
param([string]$Path)
$item = Get-Item -LiteralPath $Path -Force
if ($item.PSIsContainer -or ($item.Attributes -band [IO.FileAttributes]::ReparsePoint)) {
    throw "Suppression refusée : $Path n'est pas un fichier."
}
Remove-Item -LiteralPath $Path -Force
$null
"""

# Directory.Delete without recursion refuses a folder that is not empty (and removes a
# junction itself, never what it points to).
REMOVE_DIR = r"""
# julieops-script: files.remove_dir
param([string]$Path)
$item = Get-Item -LiteralPath $Path -Force
if (-not $item.PSIsContainer) { throw "Suppression refusée : $Path n'est pas un dossier." }
[IO.Directory]::Delete($item.FullName, $false)
$null
"""

SET_MTIME = r"""
# julieops-script: files.set_mtime
param([string]$Path, [double]$Mtime)
$ms = [long][Math]::Round($Mtime * 1000)
(Get-Item -LiteralPath $Path -Force).LastWriteTimeUtc =
    [DateTimeOffset]::FromUnixTimeMilliseconds($ms).UtcDateTime
$null
"""

STAT = r"""
# julieops-script: files.stat
param([string]$Path)
$item = Get-Item -LiteralPath $Path -Force
@{
    s = if ($item.PSIsContainer) { 0 } else { $item.Length }
    m = ([DateTimeOffset]$item.LastWriteTimeUtc).ToUnixTimeMilliseconds() / 1000
    d = [bool]$item.PSIsContainer
}
"""

# Junctions and symbolic links are listed but not entered (profiles contain loops).
LIST_TREE = r"""
# julieops-script: files.list_tree
param([string]$Path)
$root = (Get-Item -LiteralPath $Path -Force).FullName.TrimEnd('\')
$pending = New-Object System.Collections.Stack
$pending.Push($root)
$found = New-Object System.Collections.ArrayList
while ($pending.Count) {
    foreach ($item in Get-ChildItem -LiteralPath $pending.Pop() -Force) {
        $isDir = [bool]$item.PSIsContainer
        [void]$found.Add(@{
            p = $item.FullName.Substring($root.Length + 1)
            s = if ($isDir) { 0 } else { $item.Length }
            m = ([DateTimeOffset]$item.LastWriteTimeUtc).ToUnixTimeMilliseconds() / 1000
            d = $isDir
        })
        $reparse = $item.Attributes -band [IO.FileAttributes]::ReparsePoint
        if ($isDir -and -not $reparse) { $pending.Push($item.FullName) }
    }
}
, $found.ToArray()
"""
