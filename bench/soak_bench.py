"""`python -m bench soak [MINUTES]`: the embedded default under continuous runs.

scripts/run-embedded.sh itself (SQLite, the embedded broker, the step worker, the reaper's
worker with beat, the web server) in a var/ of its own, nothing exported; this process keeps
a few runs in flight on the demo job for MINUTES (default 30, or BENCH_SOAK_MINUTES), then
stops sending, lets the queue drain and stops the script as Ctrl-C does. Reports runs per
minute, worker deaths (the script's « DIED » lines), the longest wait in the queue, runs left
queued or running, and the load average, to bench/results/soak.json (BENCH_SOAK_RESULTS
names another folder).

The runs are the probe step `probe.log` (200 log lines, tests/support/probe_steps.py) on a few
steps of the demo job, and the demo's real « Localiser les données Julie » (source.locate)."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PROBES = 3  # probe steps kept busy beside source.locate
DIED = re.compile(r"run-embedded: (WORKER|REAPER) DIED")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(var: Path) -> dict:
    """A new user's shell, plus where var/ goes and the probe steps for the worker."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/"),
        "JULIEOPS_VAR_DIR": str(var),
        "PORT": str(free_port()),
        "VENV": sys.prefix,
        "JULIEOPS_EXTRA_STEP_MODULES": "tests.support.probe_steps",
    }


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise RuntimeError(f"soak: {what} not within {timeout:.0f} s")


def read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def soak(minutes: float, *, results_dir: Path | None = RESULTS, drain_seconds: float = 90) -> dict:
    var = Path(tempfile.mkdtemp(prefix="julieops-soak-"))
    env = clean_env(var)
    logs = [var / "log" / "worker.log", var / "log" / "reaper.log"]
    out = (var / "run-embedded.out").open("wb")
    script = subprocess.Popen(
        ["scripts/run-embedded.sh"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        wait_until(lambda: all("ready." in read(log) for log in logs), 180, "workers ready")
        figures = drive(var, minutes, drain_seconds)
    finally:
        os.killpg(script.pid, signal.SIGINT)  # Ctrl-C
        try:
            script.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(script.pid, signal.SIGKILL)
            script.wait(timeout=10)
        out.close()
    text = "".join(read(log) for log in logs) + read(var / "run-embedded.out")
    figures["worker_deaths"] = len(DIED.findall(text))
    figures["decode_errors"] = text.count("JSONDecodeError")
    figures["var_dir"] = str(var)
    figures["load_average"] = [round(x, 2) for x in os.getloadavg()]
    figures["cores"] = os.cpu_count()
    figures["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    if results_dir is not None:
        results_dir.mkdir(parents=True, exist_ok=True)
        (results_dir / "soak.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def drive(var: Path, minutes: float, drain_seconds: float) -> dict:
    """This process on the same SQLite and broker: keep runs in flight, then measure."""
    os.environ.update({"JULIEOPS_VAR_DIR": str(var), "DEBUG": "1"})
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "JULIEOPS_FERNET_KEYS"):
        os.environ.pop(name, None)
    os.environ["JULIEOPS_EXTRA_STEP_MODULES"] = "tests.support.probe_steps"
    os.environ["DJANGO_SETTINGS_MODULE"] = "julieops.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from migrations_app import actions
    from migrations_app.models import JobStep, MigrationJob, StepRun

    user = get_user_model().objects.get(username="demo")
    job = MigrationJob.objects.order_by("pk").first()
    job.options = {**job.options, "probe_lines": 200}
    job.save()
    # A JobStep per (job, key): the probes in flight sit on copies of the demo job.
    steps = [job.steps.get(key="source.locate")]
    for n in range(PROBES):
        clone = MigrationJob.objects.get(pk=job.pk)
        if n:
            clone.pk, clone.title = None, f"{job.title} (soak {n})"
            clone.save()
        steps.append(
            JobStep.objects.get_or_create(
                job=clone, key="probe.log", defaults={"phase": 9, "order": 1, "kind": "auto"}
            )[0]
        )
    sent = 0
    started = time.monotonic()
    deadline = started + minutes * 60
    first_pk = StepRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    while time.monotonic() < deadline:
        for step in steps:
            step.refresh_from_db(fields=["status"])
            if step.status not in ("queued", "running"):
                try:
                    actions.start_run(step, user, reason="soak")
                    sent += 1
                except actions.ActionRefused:
                    pass
        time.sleep(0.2)
    sending = time.monotonic() - started
    runs = StepRun.objects.filter(pk__gt=first_pk)
    drain_deadline = time.monotonic() + drain_seconds
    while time.monotonic() < drain_deadline and runs.filter(status__in=["queued", "running"]):
        time.sleep(0.5)
    ended = list(runs.values_list("status", "created_at", "started_at", "finished_at"))
    by_status: dict[str, int] = {}
    for status, *_ in ended:
        by_status[status] = by_status.get(status, 0) + 1
    waits = [(s - c).total_seconds() for _, c, s, _ in ended if s is not None]
    done = sum(n for status, n in by_status.items() if status not in ("queued", "running"))
    return {
        "minutes": round(sending / 60, 2),
        "runs_sent": sent,
        "runs_ended": done,
        "runs_per_minute": round(done / (sending / 60), 1) if sending else 0,
        "by_status": by_status,
        "left_queued": by_status.get("queued", 0),
        "left_running": by_status.get("running", 0),
        "longest_queue_wait_s": round(max(waits), 2) if waits else None,
        "mean_queue_wait_s": round(sum(waits) / len(waits), 3) if waits else None,
        "in_flight": len(steps),
    }


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[2:] if argv is None else argv
    minutes = float(argv[0]) if argv else float(os.environ.get("BENCH_SOAK_MINUTES", "30"))
    results = Path(os.environ.get("BENCH_SOAK_RESULTS", RESULTS))
    figures = soak(minutes, results_dir=results)
    print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
