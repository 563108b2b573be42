"""A service the tests start as a real process from the venv (web server, Celery worker):
own process group, output in a log file, started and awaited the same way."""

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class ServiceProcess:
    """Subclasses set `name` and `log_path`, and call `launch()` then `await_ready()`."""

    name = "process"
    process: subprocess.Popen | None = None
    log_path: Path

    def launch(self, argv: list[str], env: dict) -> None:
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: kill() reaches its children too
        )

    def await_ready(self, ready: Callable[[], bool], wait: float):
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log()}")
            if ready():
                return self
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"{self.name} not ready after {wait}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)
