"""A private redis-server on a loopback port, which a test may restart (never the shared one)."""

import contextlib
import subprocess
import time
from pathlib import Path

import redis

from .net import free_port


class RedisServer:
    def __init__(self, workdir: Path, port: int | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.process = None
        self.starts = 0

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def start(self, wait: float = 10) -> "RedisServer":
        self.starts += 1
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--logfile",
                str(self.workdir / f"redis-{self.starts}.log"),
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            try:
                if self.client().ping():
                    return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server not answering on port {self.port}")

    def shutdown(self) -> None:
        """SHUTDOWN NOSAVE: every queued message and connection is gone, like a crash."""
        if self.process is None or self.process.poll() is not None:
            return
        # The server closes the connection as it goes.
        with contextlib.suppress(redis.ConnectionError):
            self.client().shutdown(nosave=True)
        self.process.wait(timeout=10)

    def restart(self, down_for: float = 0) -> None:
        self.shutdown()
        time.sleep(down_for)
        self.start()

    def stop(self) -> None:
        self.shutdown()
