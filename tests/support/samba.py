"""A real Samba smbd on a loopback port, with its own smb.conf, a share and a user.

Started by the tests (no system service): every state directory lives in a temp dir. The SMB
account is the Unix user running smbd (root in CI), registered with pdbedit.
"""

import getpass
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.sshd import free_port

SMBD = shutil.which("smbd") or "/usr/sbin/smbd"
PDBEDIT = shutil.which("pdbedit") or "/usr/bin/pdbedit"
SHARE = "julie"


@dataclass
class SambaServer:
    host: str
    port: int
    share: str
    share_path: Path
    username: str
    password: str
    process: subprocess.Popen
    log_path: Path

    def url(self, path: str = "") -> str:
        return f"smb://{self.host}:{self.port}/{self.share}/{path}".rstrip("/")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_samba(workdir: Path, password: str = "Julie-Test-2026") -> SambaServer:  # noqa: S107
    state = workdir / "state"
    share = workdir / "share"
    for d in (state, share, state / "ncalrpc", workdir / "drive_d"):
        d.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = workdir / "smb.conf"
    conf.write_text(
        "\n".join(
            [
                "[global]",
                "server role = standalone server",
                f"smb ports = {port}",
                "interfaces = 127.0.0.1",
                "bind interfaces only = yes",
                "disable netbios = yes",
                "server min protocol = SMB2_10",
                "map to guest = Never",
                f"passdb backend = tdbsam:{state}/passdb.tdb",
                *(
                    f"{key} = {state}"
                    for key in (
                        "private dir",
                        "lock directory",
                        "state directory",
                        "cache directory",
                        "pid directory",
                    )
                ),
                f"ncalrpc dir = {state}/ncalrpc",
                f"log file = {state}/log.smbd",
                "log level = 1",
                "load printers = no",
                "printing = bsd",
                "printcap name = /dev/null",
                "disable spoolss = yes",
                "unix charset = UTF-8",
                f"[{SHARE}]",
                f"path = {share}",
                "read only = no",
                "create mask = 0644",
                "[D$]",  # an administrative drive share, which a mirror must refuse
                f"path = {workdir / 'drive_d'}",
                "read only = no",
                "",
            ]
        )
    )
    username = getpass.getuser()
    subprocess.run(
        [PDBEDIT, "-s", str(conf), "-a", "-u", username, "-t"],
        input=f"{password}\n{password}\n",
        text=True,
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(
        [SMBD, "--foreground", "--no-process-group", "--debug-stdout", "-s", str(conf)],
        stdin=subprocess.PIPE,  # smbd --foreground quits when its stdin reaches EOF
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"smbd exited: {process.stderr.read().decode(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError("smbd did not start listening")
    return SambaServer(
        "127.0.0.1", port, SHARE, share, username, password, process, state / "log.smbd"
    )
