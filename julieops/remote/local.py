"""The worker's own machine: the embedded demo (Linux) or a worker installed on the practice's
server (Windows). Commands are argument lists run without a shell."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import stat as statmod
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from julieops.remote import powershell as ps
from julieops.remote.base import (
    CancelCheck,
    ClosedOnExit,
    CommandResult,
    FileStat,
    LineCallback,
    LineSplitter,
    NotSupported,
    RemoteError,
    RunLimits,
)

IS_WINDOWS = sys.platform == "win32"


class LocalTransport(ClosedOnExit):
    kind = "local"

    def __init__(self, host: str | None = None, *, encoding: str = "utf-8", **_ignored):
        self.host = host or socket.gethostname()
        self.encoding = encoding

    def __repr__(self) -> str:
        return f"<LocalTransport {self.host}>"

    def run(
        self,
        command: str | Sequence[str],
        *,
        on_line: LineCallback | None = None,
        cancel: CancelCheck | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        if isinstance(command, str):
            argv: Any = command if IS_WINDOWS else shlex.split(command)
        else:
            argv = list(command)
        extra: dict[str, Any] = (
            {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
            if IS_WINDOWS
            else {"start_new_session": True}  # own process group, so cancel kills the tree
        )
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                **extra,
            )
        except OSError as exc:
            raise RemoteError(f"Commande impossible à lancer : {exc}") from None
        out = LineSplitter("stdout", self.encoding, on_line)
        err = LineSplitter("stderr", self.encoding, on_line)
        lock = threading.Lock()  # on_line is called from two reader threads

        def pump(pipe, splitter):
            for chunk in iter(lambda: pipe.read1(65536), b""):
                with lock:
                    splitter.feed(chunk)
            with lock:
                splitter.feed(b"", final=True)

        readers = [
            threading.Thread(target=pump, args=(proc.stdout, out), daemon=True),
            threading.Thread(target=pump, args=(proc.stderr, err), daemon=True),
        ]
        for reader in readers:
            reader.start()
        if stdin is not None:
            try:
                proc.stdin.write(stdin)
                proc.stdin.close()
            except BrokenPipeError:
                pass
        limits = RunLimits(cancel, timeout)
        while proc.poll() is None:
            stop = limits.reached("Commande annulée : processus arrêté.")
            if stop is not None:
                self._kill(proc)
                raise stop
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.2)
        for reader in readers:
            reader.join()
        return CommandResult(proc.returncode, out.text(), err.text())

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        if IS_WINDOWS:
            subprocess.run(["taskkill", "/T", "/F", "/PID", str(proc.pid)], capture_output=True)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def powershell(
        self, script: str, params: dict[str, Any] | None = None, *, secrets: dict | None = None
    ) -> Any:
        if not IS_WINDOWS:
            raise NotSupported(
                "PowerShell n'est pas disponible sur ce poste de travail (non Windows) : "
                "à vérifier à la main."
            )
        return ps.run_script(self, script, params, secrets)

    # -- files ----------------------------------------------------------------------------------

    def read_file(self, path: str) -> bytes:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise RemoteError(f"Lecture impossible de {path} ({exc.strerror})") from None

    def write_file(self, path: str, data: bytes, mtime: float | None = None) -> None:
        target = Path(path)
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if mtime is not None:
                os.utime(temp, (mtime, mtime))
            os.replace(temp, target)
        except OSError as exc:
            Path(temp).unlink(missing_ok=True)
            raise RemoteError(f"Écriture impossible de {path} ({exc.strerror})") from None

    def make_dirs(self, path: str) -> None:
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            raise RemoteError(f"Création du dossier {path} impossible ({exc.strerror})") from None

    def remove_file(self, path: str) -> None:
        try:
            st = os.lstat(path)
            if not statmod.S_ISREG(st.st_mode):
                raise RemoteError(f"Suppression refusée : {path} n'est pas un fichier.")
            os.remove(path)
        except OSError as exc:
            raise RemoteError(f"Suppression impossible de {path} ({exc.strerror})") from None

    def remove_dir(self, path: str) -> None:
        try:
            if os.path.islink(path):
                raise RemoteError(f"Suppression refusée : {path} est un lien.")
            os.rmdir(path)  # refuses a folder that is not empty
        except OSError as exc:
            raise RemoteError(
                f"Suppression du dossier {path} impossible ({exc.strerror})"
            ) from None

    def set_mtime(self, path: str, mtime: float) -> None:
        try:
            os.utime(path, (mtime, mtime), follow_symlinks=False)
        except OSError as exc:
            raise RemoteError(f"Date de {path} non modifiable ({exc.strerror})") from None

    def stat(self, path: str) -> FileStat:
        try:
            st = os.stat(path, follow_symlinks=False)
        except OSError as exc:
            raise RemoteError(f"{path} introuvable ({exc.strerror})") from None
        return FileStat(
            path, st.st_size, st.st_mtime, os.path.isdir(path) and not os.path.islink(path)
        )

    def list_tree(self, path: str) -> list[FileStat]:
        """Every entry below `path` (symbolic links not followed), paths relative to it."""
        found: list[FileStat] = []
        for directory, dirs, files in os.walk(path):
            for name in dirs + files:
                full = os.path.join(directory, name)
                st = os.lstat(full)
                rel = os.path.relpath(full, path).replace(os.sep, "/")
                is_dir = name in dirs and not os.path.islink(full)
                found.append(FileStat(rel, st.st_size, st.st_mtime, is_dir))
        return sorted(found, key=lambda e: e.path)
