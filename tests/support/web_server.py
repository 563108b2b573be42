"""A real web server process (gunicorn from the venv) serving the dashboard on a loopback
port against the test database, and a logged-in HTTP session to talk to it."""

import os
import re
import signal
import sys
from pathlib import Path

import requests

from .net import free_port
from .processes import ServiceProcess
from .worker import test_database_url


class WebServer(ServiceProcess):
    name = "web server"

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
        self.launch(
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
            env,
        )
        return self.await_ready(self._answers, wait)

    def _answers(self) -> bool:
        try:
            return requests.get(f"{self.url}/login/", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def kill(self, sig=signal.SIGKILL) -> None:
        super().kill(sig)
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
