"""Real Celery worker processes for the execution tests (Redis broker, the test database)."""

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

from .processes import ROOT, ServiceProcess

__all__ = ["ROOT", "Worker", "test_database_url", "wait_for"]


def test_database_url() -> str:
    """The URL of the database the tests use now (pytest-django's test database)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    return (
        f"postgres://{user}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )


class Worker(ServiceProcess):
    """`celery worker` in its own process group, serving one queue."""

    name = "worker"

    def __init__(
        self,
        queue: str | None = None,
        *,
        concurrency: int = 1,
        env: dict | None = None,
        pool: str = "prefork",
    ):
        self.queue = queue or f"test-{uuid.uuid4().hex[:10]}"
        self.concurrency = concurrency
        self.pool = pool
        self.extra_env = env or {}
        self.process = None
        # One log and one evidence folder per worker, even for two workers on a queue.
        self.workdir = Path(tempfile.mkdtemp(prefix=f"julieops-worker-{self.queue}-"))
        self.log_path = self.workdir / "worker.log"

    def start(self, wait: float = 60) -> "Worker":
        env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "JULIEOPS_HEARTBEAT_INTERVAL": "0.5",
            "MEDIA_ROOT": str(self.workdir / "media"),
            # The folders `local` machines of the tests may use (pytest's temporary folders).
            "JULIEOPS_LOCAL_ROOTS": ",".join(settings.JULIEOPS_LOCAL_ROOTS),
            **self.extra_env,
        }
        self.launch(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "julieops",
                "worker",
                "-Q",
                self.queue,
                "-c",
                str(self.concurrency),
                "--pool",
                self.pool,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"{self.queue}@%h",
                "--loglevel",
                "INFO",
            ],  # fmt: skip
            env,
        )
        return self.await_ready(lambda: b"ready." in self.log_path.read_bytes(), wait)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


def wait_for(predicate, timeout: float = 30, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
