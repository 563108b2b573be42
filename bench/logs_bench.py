"""Execution figures: log lines per second written by one worker, the delay from a log line's
emission to its arrival in a poll of the log view, and the queries of the job list and the job
page with 100 jobs. Real PostgreSQL, Redis and a real worker process.

Run: `python -m bench logs` (BENCH_LINES, BENCH_JOBS to scale)."""

import json
import os
import re
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "julieops_bench"


def _setup_django():
    os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/2")
    os.environ.setdefault("SECRET_KEY", "bench-secret")
    os.environ.setdefault("JULIEOPS_FERNET_KEYS", "Wc1_xS7WzY1m0fLwXsD2oU9xQ6zj1hJcYkqYVx0mJ8k=")
    os.environ["JULIEOPS_EXTRA_STEP_MODULES"] = "tests.support.probe_steps"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("DEBUG", "0")
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "julieops.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    import tempfile

    _setup_django()
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from migrations_app import actions
    from migrations_app.models import JobStep, LogLine, StepRun
    from tests.support.practice import make_practice
    from tests.support.worker import Worker, wait_for

    user = User.objects.create_user("bench", password="bench-password-123")
    user.groups.add(Group.objects.get(name="technicien"))
    tmp = Path(tempfile.mkdtemp(prefix="julieops-bench-"))
    worker = Worker(concurrency=1).start()
    practice = make_practice(tmp, queue=worker.queue)
    results = {}
    try:
        job = actions.create_job(
            user, customer=practice.customer, site=practice.site, source=practice.source,
            target=practice.target, clients=[practice.client], title="bench",
        )  # fmt: skip

        # 1. Throughput: one run writing BENCH_LINES lines.
        lines = int(os.environ.get("BENCH_LINES", "200000"))
        job.options = {"probe_lines": lines}
        job.save()
        step = JobStep.objects.create(job=job, key="probe.log", phase=9, order=1, kind="auto")
        run = actions.start_run(step, user)
        wait_for(lambda: StepRun.objects.get(pk=run.pk).status == "passed", timeout=600)
        run.refresh_from_db()
        stored = LogLine.objects.filter(run=run).count()
        seconds = (run.finished_at - run.started_at).total_seconds()
        results["log_lines"] = stored
        results["log_seconds"] = round(seconds, 3)
        results["log_lines_per_second"] = round(stored / seconds)

        # 2. Emission-to-poll delay: a run logging a line every 50 ms, polled like the page.
        job.options = {"probe_seconds": 20, "probe_tick": 0.05}
        job.save()
        step2 = JobStep.objects.create(job=job, key="probe.sleep", phase=9, order=2, kind="auto")
        run2 = actions.start_run(step2, user)
        client = Client()
        client.force_login(user)
        after, delays = 0, {}
        poll_interval = float(os.environ.get("BENCH_POLL_INTERVAL", "1.0"))
        while True:
            response = client.get(f"/jobs/{job.pk}/runs/{run2.pk}/log/?after={after}")
            received = datetime.now(UTC)
            # The lines this response carried; their ts is the emission time in the step.
            seqs = [int(s) for s in re.findall(r'data-seq="(\d+)"', response.content.decode())]
            for seq, ts in LogLine.objects.filter(run=run2, seq__in=seqs).values_list("seq", "ts"):
                delays[seq] = (received - ts).total_seconds()
            if seqs:
                after = max(seqs)
            if response.status_code == 286:
                break
            time.sleep(poll_interval)
        values = list(delays.values())
        results["poll_interval_s"] = poll_interval
        results["emission_to_poll_p50_s"] = round(statistics.median(values), 3)
        results["emission_to_poll_p95_s"] = round(_percentile(values, 95), 3)
        results["emission_to_poll_max_s"] = round(max(values), 3)

        # 3. Queries with 100 jobs.
        n_jobs = int(os.environ.get("BENCH_JOBS", "100"))
        for i in range(n_jobs - 1):
            actions.create_job(
                user, customer=practice.customer, site=practice.site, source=practice.source,
                target=practice.target, clients=[practice.client], title=f"bench {i}",
            )  # fmt: skip
        for url, key in (("/jobs/", "job_list"), (f"/jobs/{job.pk}/", "job_page")):
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                assert client.get(url).status_code == 200
                elapsed = time.perf_counter() - started
            results[f"{key}_queries"] = len(ctx.captured_queries)
            results[f"{key}_ms"] = round(elapsed * 1000, 1)
        results["jobs"] = n_jobs
    finally:
        worker.stop()
    print("\nExecution figures (PostgreSQL, Redis, one worker process)")
    for key, value in results.items():
        print(f"  {key:<28} {value}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "logs.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
