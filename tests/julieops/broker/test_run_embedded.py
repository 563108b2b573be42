"""scripts/run-embedded.sh (`make run`), run for real in its own var/: the worker log is
appended to, a worker that dies is restarted and says so, Ctrl-C stops everything in < 10 s."""

import os
import re
import signal
import subprocess
import time

import pytest

from tests.support.net import free_port
from tests.support.processes import ROOT
from tests.support.worker import wait_for

pytestmark = pytest.mark.slow


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_run_embedded_restarts_a_dead_worker_and_stops_on_ctrl_c(tmp_path):
    var = tmp_path / "var"
    (var / "log").mkdir(parents=True)
    log = var / "log" / "worker.log"
    log.write_text("line from the previous run\n")
    out_path = tmp_path / "run.out"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"CELERY_BROKER_URL", "DATABASE_URL", "SECRET_KEY", "JULIEOPS_FERNET_KEYS"}
    }
    env.update(DEBUG="1", PORT=str(free_port()), JULIEOPS_VAR_DIR=str(var))
    with out_path.open("wb") as out:
        script = subprocess.Popen(
            ["scripts/run-embedded.sh"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a terminal of its own: Ctrl-C is SIGINT to this group
            # A terminal's foreground job has SIGINT at its default (Popen may inherit SIG_IGN).
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    groups = []

    def output() -> str:
        return out_path.read_text(errors="replace")

    try:
        wait_for(lambda: "ready." in log.read_text(), timeout=120)
        first = int(re.search(r"worker started \(pid (\d+)", output()).group(1))
        web = _web_pgid(script.pid)
        groups += [first, web]

        os.kill(first, signal.SIGKILL)
        wait_for(lambda: "worker restarted (pid" in output(), timeout=30)
        second = int(re.search(r"worker restarted \(pid (\d+)", output()).group(1))
        groups.append(second)
        assert f"WORKER DIED (pid {first}, status 137)" in output()
        wait_for(lambda: log.read_text().count("ready.") == 2, timeout=60)
        text = log.read_text()
        assert text.startswith("line from the previous run\n")
        assert f"run-embedded: WORKER DIED (pid {first}" in text
        # Its pool and beat go with it (they notice their parent's death, or are killed with
        # its group): asynchronously, so within a bounded wait.
        wait_for(lambda: not _group_alive(first), timeout=10)

        started = time.monotonic()
        os.killpg(script.pid, signal.SIGINT)
        script.wait(timeout=15)
        took = time.monotonic() - started
        print(f"stopped in {took:.1f} s")
        assert took < 10, f"stopped in {took:.1f} s"
        assert script.returncode == 130
        assert "run: stopped" in output()
        # Killed, then reaped by init once the script has gone: give that a moment.
        for pgid in groups:
            try:
                wait_for(lambda pgid=pgid: not _group_alive(pgid), timeout=3)
            except AssertionError:
                ps = subprocess.run(["ps", "-o", "pid,stat,args", "-g", str(pgid)],
                                    capture_output=True, text=True).stdout  # fmt: skip
                raise AssertionError(f"group {pgid} still there:\n{ps}") from None
    finally:
        for pgid in [script.pid, *groups]:
            if _group_alive(pgid):
                os.killpg(pgid, signal.SIGKILL)
        script.wait(timeout=10)


def _web_pgid(script_pid: int) -> int:
    """The web server is the script's child running `manage.py runserver` (its own group)."""
    children = subprocess.run(
        ["ps", "-o", "pid=,args=", "--ppid", str(script_pid)], capture_output=True, text=True
    ).stdout
    for line in children.splitlines():
        pid, _, args = line.strip().partition(" ")
        if "runserver" in args:
            return os.getpgid(int(pid))
    raise AssertionError(f"no web server among:\n{children}")
