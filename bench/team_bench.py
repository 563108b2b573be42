"""Team-scale figures: 2,000 jobs x 30 steps and 5 million log lines in PostgreSQL, the app
served by gunicorn (DEBUG off, whitenoise), 20 concurrent users driven by wrk on loopback.

Measures: overview, job page, job list and log poll latency (p50/p95/p99, request rate);
queries per page at 10 % and 100 % of the jobs; one worker's log lines per second; the
emission-to-screen delay with 50 runs logging at once, polled over HTTP like the page.

Run: `python -m bench team` (BENCH_TEAM_SCALE=0.1 for a quick run; BENCH_TEAM_SECONDS per
load phase; BENCH_TEAM_LINES to write fewer log lines; BENCH_TEAM_DB and BENCH_TEAM_BROKER_URL
so that two people can run it at once; BENCH_TEAM_PARTS=pages for the pages only, without the
worker and concurrent-run parts). Stops by itself; the default run takes a few minutes. Each
paced phase records the machine's load average (1 min) at its end: the machine is shared."""

import http.client
import json
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Overridable so that two people can run the bench on one machine without sharing a database.
DB_NAME = os.environ.get("BENCH_TEAM_DB", "julieops_teamscale")
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
BROKER_URL = os.environ.get("BENCH_TEAM_BROKER_URL", "redis://127.0.0.1:6379/12")
# gunicorn's sync workers (one request at a time each, as behind a reverse proxy) or gthread.
WEB_CLASS = os.environ.get("BENCH_WEB_CLASS", "sync")
# "pages,runs" (default): the pages under load, then the worker and the 50 concurrent runs;
# "pages" alone spares a shared machine the second half.
PARTS = set(os.environ.get("BENCH_TEAM_PARTS", "pages,runs").split(","))

TARGETS = {
    "page_p95_ms": 150,
    "log_poll_p95_ms": 20,
    "worker_lines_per_s": 20_000,
    "emission_p95_s": 1.5,
}

# How many log lines a run of each step writes, relative to the others.
LINE_WEIGHTS = {"data.mirror": 60, "data.services": 8, "source.services_data": 6, "probe.log": 30}
PROBE_STEPS = [("probe.log", 9, 1, "auto"), ("probe.sleep", 9, 2, "auto"), ("probe.secret", 9, 3, "auto")]  # fmt: skip


def _env(static_root: Path) -> dict:
    return {
        "DATABASE_URL": DB_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "CACHE_KEY_PREFIX": "julieops-teamscale",
        "SECRET_KEY": "bench-secret-teamscale",
        "JULIEOPS_FERNET_KEYS": "Wc1_xS7WzY1m0fLwXsD2oU9xQ6zj1hJcYkqYVx0mJ8k=",
        "JULIEOPS_EXTRA_STEP_MODULES": "tests.support.probe_steps",
        "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
        "DEBUG": "0",
        "SECURE_COOKIES": "0",
        "STATIC_ROOT": str(static_root),
        "LOG_LEVEL": "WARNING",
    }


def _setup_django(static_root: Path):
    os.environ.update(_env(static_root))
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "julieops.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def _percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


# ---------------------------------------------------------------- data


def _step_plan(job_status: str, catalogue, rng) -> list[tuple]:
    """(key, phase, order, kind, status) for the 30 steps of a job in that status."""
    steps = [(s.key, s.phase, s.order, s.kind) for s in catalogue] + PROBE_STEPS
    finished = {"auto": "passed", "check": "passed", "manual": "done", "approval": "done"}
    if job_status == "done":
        return [(*s, "skipped" if rng.random() < 0.03 else finished[s[3]]) for s in steps]
    if job_status == "draft":
        return [(*s, "todo") for s in steps]
    cutoff = rng.randint(1, 8)
    plan = []
    for s in steps:
        if s[1] < cutoff:
            plan.append((*s, finished[s[3]]))
        elif s[1] == cutoff and s[3] in ("auto", "check") and job_status != "cancelled":
            plan.append((*s, {"blocked": "failed", "in_progress": "passed"}[job_status]))
        else:
            plan.append((*s, "todo"))
    if job_status == "in_progress" and rng.random() < 0.3:
        # A third of the jobs in progress have a step running now.
        todo = [i for i, p in enumerate(plan) if p[4] == "todo" and p[3] == "auto"]
        if todo:
            i = todo[0]
            plan[i] = (*plan[i][:4], "running")
    return plan


def populate(n_jobs: int, n_lines: int, offset: int, user, rng) -> dict:
    """Add n_jobs jobs (with customers, sites, machines, steps, runs, audit events) and
    n_lines log lines spread over their runs. Bulk inserts and COPY, not one save per row."""
    from django.db import connection

    from migrations_app.models import (
        AuditEvent,
        Customer,
        Incident,
        JobStep,
        Machine,
        MigrationJob,
        Site,
        StepRun,
    )
    from migrations_app.steps.registry import catalogue

    started = time.perf_counter()
    cat = catalogue()
    idx = range(offset, offset + n_jobs)
    customers = Customer.objects.bulk_create(
        [Customer(name=f"Cabinet dentaire {i:05d}", licence_number=f"J{i:06d}") for i in idx]
    )
    sites = Site.objects.bulk_create(
        [Site(customer=c, name=f"Site {c.pk}", worker_queue="") for c in customers]
    )
    machines = Machine.objects.bulk_create(
        [
            Machine(site=s, hostname=h, address="10.0.0.1", roles=r, transport="winrm")
            for s in sites
            for h, r in (("SRV-ANCIEN", ["data_server"]), ("SRV-NOUVEAU", ["data_server"]),
                         ("POSTE-1", ["client"]), ("POSTE-2", ["client"]))
        ]
    )  # fmt: skip
    statuses = rng.choices(
        ["done", "in_progress", "blocked", "draft", "cancelled"],
        weights=[85, 8, 2, 2, 3],
        k=n_jobs,
    )
    jobs = MigrationJob.objects.bulk_create(
        [
            MigrationJob(
                customer=customers[k], site=sites[k], source=machines[4 * k],
                target=machines[4 * k + 1], title=f"Migration {customers[k].name}",
                status=statuses[k], created_by=user, assignee=user if k % 3 else None,
            )
            for k in range(n_jobs)
        ]
    )  # fmt: skip
    Through = MigrationJob.clients.through
    Through.objects.bulk_create(
        [
            Through(migrationjob_id=j.pk, machine_id=machines[4 * k + c].pk)
            for k, j in enumerate(jobs)
            for c in (2, 3)
        ]
    )
    now = datetime.now(UTC)
    steps = []
    for k, job in enumerate(jobs):
        for key, phase, order, kind, status in _step_plan(statuses[k], cat, rng):
            steps.append(
                JobStep(
                    job=job, key=key, phase=phase, order=order, kind=kind, status=status,
                    summary="OK" if status in ("passed", "done") else "",
                    approved_by=user if kind == "approval" and status == "done" else None,
                    approved_at=now if kind == "approval" and status == "done" else None,
                    done_by=user if status == "done" else None,
                    done_at=now if status == "done" else None,
                )
            )  # fmt: skip
    steps = JobStep.objects.bulk_create(steps, batch_size=5000)
    runs = []
    for step in steps:
        if step.kind not in ("auto", "check") or step.status not in ("passed", "failed", "running"):
            continue
        day = now - timedelta(days=rng.randint(0, 700), minutes=rng.randint(0, 600))
        attempts = 2 if rng.random() < 0.1 else 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            status = step.status if last else "failed"
            running = status == "running"
            runs.append(
                StepRun(
                    step=step, attempt=attempt, status=status, queue="default",
                    worker="srv-worker:1234", requested_by=user, queued_at=day,
                    started_at=now if running else day, heartbeat_at=now if running else day,
                    finished_at=None if running else day + timedelta(seconds=rng.randint(2, 900)),
                    summary="OK" if status == "passed" else "Échec de la vérification",
                    done_units=10, total_units=10 if not running else 100,
                )
            )  # fmt: skip
    runs = StepRun.objects.bulk_create(runs, batch_size=5000)
    # Lines per run: weighted by step, a few very long logs (mirror copies).
    weights = [LINE_WEIGHTS.get(r.step.key, 1) * rng.uniform(0.5, 1.5) for r in runs]
    scale = n_lines / sum(weights)
    counts = [max(1, int(w * scale)) for w in weights]
    counts[-1] += n_lines - sum(counts)
    if counts[-1] < 1:
        counts[-1] = 1
    with connection.cursor() as cursor:
        for run, count in zip(runs, counts, strict=True):
            run.last_seq = count
        StepRun.objects.bulk_update(runs, ["last_seq"], batch_size=5000)
        _copy_lines(cursor, runs, counts)
        # Creation dates over two years: the lists sort on them.
        cursor.execute(
            "UPDATE migrations_app_migrationjob SET created_at = now() - (id %% 700) * interval "
            "'1 day' - (id %% 97) * interval '1 minute' WHERE id >= %s",
            [jobs[0].pk],
        )
    events = []
    for job in jobs:
        events.append(AuditEvent(actor=user, actor_name="bench", action="job.create",
                                 category="job", job=job, target=str(job.pk)))  # fmt: skip
    for run in runs:
        job_id = run.step.job_id
        for action in ("step.run", "step.finished"):
            events.append(AuditEvent(actor=user, actor_name="bench", action=action,
                                     category="job", job_id=job_id, target=run.step.key,
                                     data={"run": run.pk}))  # fmt: skip
    for event in events:
        # The hash chain is not under test here: unique random values stand for it.
        event.prev_hash, event.hash = secrets.token_hex(32), secrets.token_hex(32)
    AuditEvent.objects.bulk_create(events, batch_size=5000)
    active = [j for j, s in zip(jobs, statuses, strict=True) if s in ("in_progress", "blocked")]
    Incident.objects.bulk_create(
        [
            Incident(job=j, kind="fse_rejected", description="Lot rejeté par la CPAM", opened_by=user)
            for j in active[: max(1, len(active) // 10)]
        ]
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "jobs": len(jobs),
        "steps": len(steps),
        "runs": len(runs),
        "lines": sum(counts),
        "events": len(events),
        "seconds": round(time.perf_counter() - started, 1),
        "longest_runs": [r.pk for r, _ in sorted(zip(runs, counts, strict=True), key=lambda x: -x[1])[:20]],
    }  # fmt: skip


def _copy_lines(cursor, runs, counts) -> None:
    """COPY the log lines in text format, a few MB at a time."""
    raw = cursor.connection  # psycopg connection under Django's wrapper
    levels = ("info",) * 18 + ("warning", "debug")
    with (
        raw.cursor() as pg,
        pg.copy("COPY migrations_app_logline (run_id, seq, ts, level, text) FROM STDIN") as copy,
    ):
        chunk = []
        for run, count in zip(runs, counts, strict=True):
            base = run.started_at
            for seq in range(1, count + 1):
                ts = (base + timedelta(milliseconds=seq * 7)).isoformat()
                chunk.append(
                    f"{run.pk}\t{seq}\t{ts}\t{levels[seq % 20]}\t"
                    f"copie Julie/Data/F{seq:06d}.BTR : 48 Ko, empreinte vérifiée\n"
                )
            if len(chunk) >= 50_000:
                copy.write("".join(chunk).encode())
                chunk = []
        if chunk:
            copy.write("".join(chunk).encode())


# ---------------------------------------------------------------- queries (test client)


def count_queries(client, urls: dict) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    out = {}
    for name, url in urls.items():
        client.get(url)  # warm caches (content types, permissions)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code in (200, 286), (url, response.status_code)
        out[name] = len(ctx.captured_queries)
    return out


# ---------------------------------------------------------------- web server and load


class Gunicorn:
    def __init__(self, env: dict, port: int, workers: int, threads: int):
        self.port = port
        self.log = Path(tempfile.mkstemp(prefix="julieops-teamscale-gunicorn-", suffix=".log")[1])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "julieops.wsgi", "-b", f"127.0.0.1:{port}",
             "-w", str(workers), "--threads", str(threads), "--worker-class", WEB_CLASS,
             "--keep-alive", "75", "--access-logfile", "/dev/null"],
            cwd=ROOT, env={**os.environ, **env}, stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, session: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log.read_text()}")
            try:
                status, _ = http_get(self.port, "/overview/", session)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn not ready:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def http_get(port: int, path: str, session: str, conn=None) -> tuple[int, bytes]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Cookie": f"sessionid={session}", "Host": "127.0.0.1"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        if own:
            conn.close()


LUA = """
local paths = {%(paths)s}
local pace = %(pace)d
local counter = 0
setup = function(thread) counter = counter + 1; thread:set("seed", counter) end
init = function(args) math.randomseed(os.time() * 1000 + seed) end
request = function()
  return wrk.format("GET", paths[math.random(#paths)],
    {["Cookie"] = "sessionid=%(session)s", ["Host"] = "127.0.0.1"})
end
if pace > 0 then
  delay = function() return math.random(math.floor(pace * 0.8), math.floor(pace * 1.2)) end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d, ' ..
    '"max_us": %%d, "status_errors": %%d, "socket_errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def wrk(port: int, session: str, paths: list[str], *, users: int, seconds: int, pace_ms: int):
    """wrk with `users` connections; each waits ~pace_ms between its requests (0: none)."""
    return wrk_together(port, session, [(paths, users, pace_ms)], seconds=seconds)[0]


def wrk_together(port: int, session: str, groups: list[tuple], *, seconds: int) -> list[dict]:
    """One wrk per (paths, users, pace_ms) group, all at the same time."""
    scripts, procs = [], []
    try:
        for paths, users, pace_ms in groups:
            script = Path(tempfile.mkstemp(prefix="julieops-teamscale-", suffix=".lua")[1])
            script.write_text(
                LUA % {"paths": ", ".join(json.dumps(p) for p in paths), "pace": pace_ms,
                       "session": session}
            )  # fmt: skip
            scripts.append(script)
            procs.append(subprocess.Popen(
                ["wrk", "-t", "1" if len(groups) > 1 else "2", "-c", str(users), "-d",
                 f"{seconds}s", "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}"],
                stdout=subprocess.PIPE, text=True,
            ))  # fmt: skip
        outs = [p.communicate(timeout=seconds + 60)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for script in scripts:
            script.unlink()
    return [_wrk_figures(out) for out in outs]


def _wrk_figures(out: str) -> dict:
    data = json.loads(re.search(r"RESULT (\{.*\})", out).group(1))
    return {
        "requests": data["requests"],
        "rate_per_s": round(data["requests"] / (data["duration_us"] / 1e6), 1),
        "p50_ms": round(data["p50_us"] / 1000, 1),
        "p95_ms": round(data["p95_us"] / 1000, 1),
        "p99_ms": round(data["p99_us"] / 1000, 1),
        "max_ms": round(data["max_us"] / 1000, 1),
        "errors": data["status_errors"] + data["socket_errors"],
    }


def paced_users(port: int, session: str, groups: list[tuple], *, seconds: float) -> list[dict]:
    """People at a browser's pace: for each (paths, users, pace_ms) group, `users` threads
    each asking a random path, then waiting ~pace_ms (+-20 %). A connection per request,
    opened when the request is sent (wrk's delay() keeps idle connections open, which
    blocks gunicorn's sync workers and measures that instead of the pages)."""
    results = [[] for _ in groups]
    errors = [0 for _ in groups]
    stop = time.monotonic() + seconds

    def user(index: int, paths: list[str], pace_ms: int, rng: random.Random) -> None:
        time.sleep(rng.uniform(0, pace_ms / 1000))  # people do not all start together
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                status, _ = http_get(port, rng.choice(paths), session)
                if status not in (200, 286):
                    errors[index] += 1
            except OSError:
                errors[index] += 1
            results[index].append(time.perf_counter() - started)
            time.sleep(rng.uniform(0.8, 1.2) * pace_ms / 1000)

    threads = [
        threading.Thread(target=user, args=(i, paths, pace, random.Random(i * 1000 + u)), daemon=True)
        for i, (paths, users, pace) in enumerate(groups)
        for u in range(users)
    ]  # fmt: skip
    begun = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 60)
    elapsed = time.monotonic() - begun
    out = []
    for latencies, errs in zip(results, errors, strict=True):
        ms = [v * 1000 for v in latencies]
        out.append({
            "requests": len(ms), "rate_per_s": round(len(ms) / elapsed, 1),
            "p50_ms": round(_percentile(ms, 50), 1), "p95_ms": round(_percentile(ms, 95), 1),
            "p99_ms": round(_percentile(ms, 99), 1), "max_ms": round(max(ms), 1), "errors": errs,
        })  # fmt: skip
    return out


# ---------------------------------------------------------------- execution


def worker_throughput(user, job, lines: int) -> dict:
    from migrations_app import actions
    from migrations_app.models import JobStep, LogLine, StepRun
    from tests.support.worker import Worker, wait_for

    worker = Worker(concurrency=1, env={"JULIEOPS_HEARTBEAT_INTERVAL": "5"}).start()
    try:
        job.site.worker_queue = worker.queue
        job.site.save()
        job.options = {**job.options, "probe_lines": lines}
        job.save()
        step = JobStep.objects.get(job=job, key="probe.log")
        run = actions.start_run(step, user)
        wait_for(lambda: StepRun.objects.get(pk=run.pk).status == "passed", timeout=300)
        run.refresh_from_db()
    finally:
        worker.stop()
    stored = LogLine.objects.filter(run=run).count()
    seconds = (run.finished_at - run.started_at).total_seconds()
    return {"lines": stored, "seconds": round(seconds, 2), "lines_per_s": round(stored / seconds)}


def concurrent_runs(
    user, jobs, port: int, session: str, *, seconds: float, tick: float, processes: int
) -> dict:
    """len(jobs) probe.sleep runs at once on `processes` thread-pool workers, each serving
    its own site queue (in a team, runs come from many site workers); one poller per run
    asks the log view every second (as htmx does) and notes when each line arrives."""
    from migrations_app import actions
    from migrations_app.models import JobStep, LogLine, MigrationJob, Site, StepRun
    from tests.support.worker import Worker, wait_for

    share = -(-len(jobs) // processes)
    workers = []
    arrivals: dict[tuple[int, int], datetime] = {}
    lock = threading.Lock()
    try:
        for i in range(processes):
            workers.append(
                Worker(concurrency=share, pool="threads", env={"JULIEOPS_HEARTBEAT_INTERVAL": "5"})
            )
            workers[-1].start()
            Site.objects.filter(jobs__in=jobs[i * share : (i + 1) * share]).update(
                worker_queue=workers[-1].queue
            )
        MigrationJob.objects.filter(pk__in=[j.pk for j in jobs]).update(
            options={"probe_seconds": seconds, "probe_tick": tick}
        )
        runs = [
            actions.start_run(JobStep.objects.get(job=j, key="probe.sleep"), user) for j in jobs
        ]

        def poll(job_id: int, run_id: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            after, deadline = 0, time.monotonic() + seconds + 120
            while time.monotonic() < deadline:
                status, body = http_get(port, f"/jobs/{job_id}/runs/{run_id}/log/?after={after}",
                                        session, conn)  # fmt: skip
                received = datetime.now(UTC)
                seqs = [int(s) for s in re.findall(rb'data-seq="(\d+)"', body)]
                with lock:
                    for seq in seqs:
                        arrivals[(run_id, seq)] = received
                if seqs:
                    after = max(seqs)
                if status == 286:
                    break
                time.sleep(1.0)
            conn.close()

        peak, polling = [0], threading.Event()

        def count_connections() -> None:
            import psycopg

            with psycopg.connect(DB_URL) as conn:
                while not polling.is_set():
                    row = conn.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [DB_NAME]
                    ).fetchone()
                    peak[0] = max(peak[0], row[0])
                    conn.commit()
                    time.sleep(0.5)

        threads = [
            threading.Thread(target=poll, args=(r.step.job_id, r.pk), daemon=True) for r in runs
        ]
        counter = threading.Thread(target=count_connections, daemon=True)
        counter.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 150)
        polling.set()
        counter.join(timeout=5)
        wait_for(
            lambda: not StepRun.objects.filter(pk__in=[r.pk for r in runs], status__in=["queued", "running"]).exists(),
            timeout=60,
        )  # fmt: skip
        statuses = list(StepRun.objects.filter(pk__in=[r.pk for r in runs]).values_list("status", flat=True))  # fmt: skip
    finally:
        for worker in workers:
            worker.stop()
    emitted = LogLine.objects.filter(run_id__in=[r.pk for r in runs]).values_list("run_id", "seq", "ts")  # fmt: skip
    delays, missing = [], 0
    for run_id, seq, ts in emitted:
        got = arrivals.get((run_id, seq))
        if got is None:
            missing += 1
        else:
            delays.append((got - ts).total_seconds())
    return {
        "runs": len(runs),
        "passed": statuses.count("passed"),
        "peak_db_connections": peak[0],
        "lines": len(delays) + missing,
        "lines_not_seen": missing,
        "p50_s": round(statistics.median(delays), 3),
        "p95_s": round(_percentile(delays, 95), 3),
        "max_s": round(max(delays), 3),
    }


# ---------------------------------------------------------------- main


def main():
    scale = float(os.environ.get("BENCH_TEAM_SCALE", "1.0"))
    load_seconds = int(os.environ.get("BENCH_TEAM_SECONDS", "20"))
    n_jobs, n_lines = max(20, round(2000 * scale)), max(10_000, round(5_000_000 * scale))
    # Fewer log lines (BENCH_TEAM_LINES) for a quicker run of the page figures: the overview
    # and the job list do not read log lines; the log poll reads the end of the longest logs.
    n_lines = int(os.environ.get("BENCH_TEAM_LINES", n_lines))
    static_root = Path(tempfile.mkdtemp(prefix="julieops-teamscale-static-"))
    _setup_django(static_root)
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from migrations_app.models import LogLine, MigrationJob, StepRun

    rng = random.Random(20240607)
    user = User.objects.create_user("bench", password="bench-password-123")
    user.groups.add(Group.objects.get(name="technicien"))
    client = Client()
    client.force_login(user)
    results: dict = {"scale": scale, "load_average_at_start": os.getloadavg()}

    def page_urls() -> dict:
        job = MigrationJob.objects.filter(status="in_progress").order_by("pk").first()
        run = StepRun.objects.filter(step__job=job).order_by("-last_seq").first()
        return {
            "overview": "/overview/",
            "job_page": f"/jobs/{job.pk}/",
            "job_list": "/jobs/",
            "log_poll": f"/jobs/{job.pk}/runs/{run.pk}/log/?after={max(0, run.last_seq - 5)}",
        }

    # 1. A tenth of the jobs, then all of them: the queries per page must not change.
    first = max(10, n_jobs // 10)
    print(f"team bench: generating {first} jobs …", flush=True)
    gen1 = populate(first, n_lines * first // n_jobs, 0, user, rng)
    urls = page_urls()
    results[f"queries_at_{first}_jobs"] = count_queries(client, urls)
    print(f"team bench: generating {n_jobs - first} more jobs and their log lines …", flush=True)
    gen2 = populate(n_jobs - first, n_lines - gen1["lines"], first, user, rng)
    results[f"queries_at_{n_jobs}_jobs"] = count_queries(client, urls)
    results["data"] = {
        k: gen1[k] + gen2[k] for k in ("jobs", "steps", "runs", "lines", "events", "seconds")
    }
    results["data"]["lines_in_db"] = LogLine.objects.count()
    print(f"team bench: data {results['data']}", flush=True)

    # 2. The pages under 20 users, served by gunicorn.
    session = client.cookies["sessionid"].value
    port = 18000 + os.getpid() % 1000
    web = Gunicorn(_env(static_root), port, int(os.environ.get("BENCH_WEB_WORKERS", "4")),
                   int(os.environ.get("BENCH_WEB_THREADS", "1")))  # fmt: skip
    try:
        web.wait_ready(session)
        jobs = list(
            MigrationJob.objects.filter(status__in=["in_progress", "blocked", "done"])
            .order_by("?")
            .values_list("pk", flat=True)[:200]
        )
        long_runs = list(
            StepRun.objects.filter(pk__in=gen2["longest_runs"]).values_list(
                "step__job_id", "pk", "last_seq"
            )  # fmt: skip
        )
        scenarios = {
            "overview": ["/overview/"],
            "job_page": [f"/jobs/{pk}/" for pk in jobs],
            "job_list": ["/jobs/", "/jobs/?page=2", "/jobs/?status=done&page=3"],
            "log_poll": [f"/jobs/{j}/runs/{r}/log/?after={max(0, n - 5)}" for j, r, n in long_runs],
        }
        for path in [p for ps in scenarios.values() for p in ps[:3]]:
            status, _ = http_get(port, path, session)
            assert status in (200, 286), (path, status)
        paced, saturated = {}, {}
        for name, paths in scenarios.items():
            print(f"team bench: load {name} …", flush=True)
            # 20 people, each page or poll once a second (htmx polls the log every second).
            paced[name] = paced_users(port, session, [(paths, 20, 1000)], seconds=load_seconds)[0]
            # The shared machine's load during this phase (1-minute average at its end).
            paced[name]["load_average"] = round(os.getloadavg()[0], 2)
            # 20 connections without pause: the rate the server sustains.
            saturated[name] = wrk(port, session, paths, users=20, seconds=max(5, load_seconds // 2), pace_ms=0)  # fmt: skip
        results["paced_20_users"] = paced
        results["saturated_20_connections"] = saturated
        # 20 people as their browsers behave: 10 on the overview (htmx refresh every 5 s),
        # 10 on job pages (a page every 5 s, the log polled every second), all at once.
        print("team bench: load browser mix …", flush=True)
        mixed = paced_users(
            port, session,
            [(scenarios["overview"], 10, 5000), (scenarios["job_page"], 10, 5000),
             (scenarios["log_poll"], 10, 1000)],
            seconds=2 * load_seconds,
        )  # fmt: skip
        results["browser_mix_20_users"] = dict(zip(["overview", "job_page", "log_poll"], mixed, strict=True))  # fmt: skip

        if "runs" not in PARTS:
            return _finish(results)
        # 3. One worker writing as fast as a step logs.
        print("team bench: worker throughput …", flush=True)
        # Jobs whose probe steps are not running (a done job's steps run again as retries).
        spare = list(
            MigrationJob.objects.filter(status__in=["draft", "done"]).select_related("site")[:60]
        )
        lines = int(os.environ.get("BENCH_WORKER_LINES", "200000"))
        results["worker"] = worker_throughput(user, spare[0], lines)

        # 4. 50 runs logging at once, each polled over HTTP every second.
        print("team bench: 50 concurrent runs …", flush=True)
        n_runs = int(os.environ.get("BENCH_TEAM_RUNS", "50"))
        results["concurrent_runs"] = concurrent_runs(
            user, spare[1 : 1 + n_runs], port, session,
            seconds=float(os.environ.get("BENCH_RUN_SECONDS", "20")), tick=0.1,
            processes=int(os.environ.get("BENCH_RUN_WORKERS", "5")),
        )  # fmt: skip
    finally:
        web.stop()
    return _finish(results)


def _finish(results: dict) -> dict:
    results["load_average_at_end"] = os.getloadavg()
    _report(results)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "team.json").write_text(json.dumps(results, indent=2))
    return results


def _report(r: dict) -> None:
    print("\nTeam-scale figures (PostgreSQL, gunicorn + whitenoise, wrk on loopback)")
    print(f"  data: {r['data']}")
    print(
        f"  load average (shared machine): {r['load_average_at_start']} -> {r['load_average_at_end']}"
    )
    for key in [k for k in r if k.startswith("queries_at_")]:
        print(f"  {key}: {r[key]}")
    print(f"  {'page':<10} {'mode':<12} {'rate/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} {'load':>6}")  # fmt: skip
    for mode in ("paced_20_users", "browser_mix_20_users", "saturated_20_connections"):
        for page, f in r[mode].items():
            print(f"  {page:<10} {mode[:11]:<12} {f['rate_per_s']:>8} {f['p50_ms']:>8} {f['p95_ms']:>8} {f['p99_ms']:>8} {f['errors']:>7} {f.get('load_average', ''):>6}")  # fmt: skip
    if "worker" in r:
        print(f"  worker: {r['worker']}")
        print(f"  concurrent runs: {r['concurrent_runs']}")
    paced = r["paced_20_users"]
    mix = r["browser_mix_20_users"]
    checks = [
        ("browser mix: overview p95 < 150 ms", mix["overview"]["p95_ms"] < TARGETS["page_p95_ms"]),
        ("browser mix: job page p95 < 150 ms", mix["job_page"]["p95_ms"] < TARGETS["page_p95_ms"]),
        (
            "browser mix: log poll p95 < 20 ms",
            mix["log_poll"]["p95_ms"] < TARGETS["log_poll_p95_ms"],
        ),
        (
            "1 req/s each: overview p95 < 150 ms",
            paced["overview"]["p95_ms"] < TARGETS["page_p95_ms"],
        ),
        (
            "1 req/s each: job page p95 < 150 ms",
            paced["job_page"]["p95_ms"] < TARGETS["page_p95_ms"],
        ),
        (
            "1 req/s each: log poll p95 < 20 ms",
            paced["log_poll"]["p95_ms"] < TARGETS["log_poll_p95_ms"],
        ),
    ]
    if "worker" in r:
        checks += [
            ("worker >= 20,000 lines/s", r["worker"]["lines_per_s"] >= TARGETS["worker_lines_per_s"]),
            ("emission p95 < 1.5 s", r["concurrent_runs"]["p95_s"] < TARGETS["emission_p95_s"]),
        ]  # fmt: skip
    q = [v for k, v in r.items() if k.startswith("queries_at_")]
    checks.append(("queries independent of job count", len(q) == 2 and q[0] == q[1]))
    for label, ok in checks:
        print(f"  {'PASS' if ok else 'MISS'}  {label}")


if __name__ == "__main__":
    main()
