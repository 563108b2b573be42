"""A real OpenSSH sshd on a loopback port, for paramiko tests (SSH exec, SFTP).

Runs as the current user (root in CI) with key authentication; the client key and the
server's host key are generated per session, so tests can pin the real fingerprint.
"""

import getpass
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko

from julieops.remote import open_transport

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SshServer:
    host: str
    port: int
    username: str
    client_key_path: Path
    host_key_path: Path
    process: subprocess.Popen

    @property
    def client_key(self) -> paramiko.PKey:
        return paramiko.Ed25519Key.from_private_key_file(str(self.client_key_path))

    @property
    def host_key(self) -> paramiko.PKey:
        return paramiko.Ed25519Key.from_private_key_file(str(self.host_key_path))

    def host_key_fingerprint(self) -> str:
        """SHA256:… as `ssh-keygen -lf` prints it."""
        out = subprocess.run(
            ["ssh-keygen", "-lf", f"{self.host_key_path}.pub"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return out.split()[1]

    def transport(self, **overrides):
        """An SSH client for this server: its account and client key, its host key pinned, a
        POSIX host. `overrides` replace any of these (`pkey=None`, `pinned_fingerprint=None`)."""
        options = {
            "pkey": self.client_key,
            "pinned_fingerprint": self.host_key_fingerprint(),
            "os": "posix",
            **overrides,
        }
        return open_transport("ssh", self.host, self.port, self.username, **options)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def start_sshd(workdir: Path) -> SshServer:
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o700)
    host_key = workdir / "host_ed25519"
    client_key = workdir / "client_ed25519"
    for key in (host_key, client_key):
        if not key.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True
            )
    authorized = workdir / "authorized_keys"
    authorized.write_text(Path(f"{client_key}.pub").read_text())
    authorized.chmod(0o600)
    port = free_port()
    config = workdir / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {host_key}",
                f"PidFile {workdir / 'sshd.pid'}",
                f"AuthorizedKeysFile {authorized}",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "Subsystem sftp internal-sftp",
                "MaxSessions 64",
                "MaxStartups 64",
                "LogLevel ERROR",
                "",
            ]
        )
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {process.stderr.read().decode()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        raise RuntimeError("sshd did not start listening")
    return SshServer("127.0.0.1", port, getpass.getuser(), client_key, host_key, process)
