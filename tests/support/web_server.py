"""A real web server process (gunicorn from the venv) serving the dashboard on a loopback
port against the test database, and a logged-in HTTP session to talk to it."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from .net import free_port
from .worker import ROOT, test_database_url


class WebServer:
    def __init__(self, log_dir: Path, *, env: dict | None = None):
        self.port = free_port()
        self.extra_env = env or {}
        self.log_dir = Path(log_dir)
        self.process = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: float = 60) -> "WebServer":
        from django.conf import settings

        self.starts += 1
        env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DEBUG": "0",
            "SECURE_COOKIES": "0",
            **self.extra_env,
        }
        self.log_path = self.log_dir / f"web-{self.starts}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "julieops.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--threads",
                "2",
                "--access-logfile",
                "-",
            ],  # fmt: skip
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"web server exited early:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/login/", timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"web server not ready after {wait}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)
        if self.process:
            self._log.close()

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


def login(base_url: str, username: str, password: str) -> requests.Session:
    """Log in through the real form (CSRF token included), as a browser would."""
    session = requests.Session()
    page = session.get(f"{base_url}/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{base_url}/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base_url}/login/"},
        allow_redirects=False,
        timeout=10,
    )
    if response.status_code != 302:
        raise AssertionError(f"login failed: {response.status_code}")
    return session
