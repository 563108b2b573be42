"""Drill: the database goes away for 10 s in the middle of a run, as a PostgreSQL restart
does to its clients: every connection of the worker is terminated and new ones are refused
(ALLOW_CONNECTIONS false on this suite's own test database only), then it comes back.

The step's log arrives gap-free, its evidence and its audit event are stored, the run ends
passed, and the flusher backed off instead of a traceback every 250 ms."""

import time

import psycopg
import pytest
from django.db import connection

from migrations_app import actions
from migrations_app.models import AuditEvent, Evidence, LogLine
from tests.support.worker import Worker, wait_for

from .conftest import media, probe_step, refresh

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

OUTAGE = 10  # seconds


def admin():
    """A connection to the server's maintenance database (ALTER DATABASE is refused from
    inside the database it changes)."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )


def database_down(name: str, keep_pid: int) -> None:
    """New connections refused, every connection but this test's own terminated."""
    with admin() as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> %s",
            [name, keep_pid],
        )


def database_up(name: str) -> None:
    with admin() as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def test_a_run_survives_a_database_restart_with_its_evidence_and_audit(job, alice, tmp_path):
    if connection.vendor != "postgresql":
        pytest.fail("this drill needs PostgreSQL (DATABASE_URL=postgres://…)")
    name = connection.settings_dict["NAME"]
    queue = f"drill-db-{job.pk}"
    job.site.worker_queue = queue
    job.site.save()
    step = probe_step(job, "probe.evidence", probe_seconds=4)
    worker = Worker(queue, env=media(tmp_path)).start()
    try:
        run = actions.start_run(step, alice)
        wait_for(lambda: refresh(run).status == "running" and run.last_seq > 3, timeout=60)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            keep = cursor.fetchone()[0]
        database_down(name, keep)
        try:
            time.sleep(OUTAGE)  # the step goes on, its evidence save falls in the outage
        finally:
            database_up(name)
        wait_for(lambda: refresh(run).status not in ("queued", "running"), timeout=120)
    finally:
        database_up(name)
        worker.stop()
    assert run.status == "passed", (run.summary, run.error)
    seqs = list(LogLine.objects.filter(run=run).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 30
    evidence = Evidence.objects.get(run=run, kind="probe")
    assert (
        AuditEvent.objects.filter(action="probe.evidence", data__evidence=evidence.pk).count() == 1
    )
    assert AuditEvent.objects.filter(action="step.finished", data__run=run.pk).count() == 1
    log = worker.log_path.read_text(errors="replace")
    failures = log.count("flush failed")
    print(f"flush failures logged during a {OUTAGE} s outage: {failures}")
    assert 1 <= failures <= 2 * OUTAGE, failures  # backed off, not 40 a second
    # One traceback per kind of write at its first failure (the flusher, the evidence save),
    # each with its chained causes; then one line per retry.
    assert log.count("Traceback") <= 6
