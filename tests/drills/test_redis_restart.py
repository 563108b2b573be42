"""Drill: the broker (a private Redis) is restarted, empty, while a step runs.

The run's log goes to PostgreSQL, not through Redis: no line is lost (gap-free seq), the run
completes, and the worker comes back to serve the next run."""

import pytest
from django.db import transaction

from migrations_app import actions, tasks
from migrations_app.models import LogLine
from tests.support.redis_server import RedisServer
from tests.support.worker import Worker, wait_for

from .conftest import probe_step, refresh

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def broker(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def send_through(broker_url: str):
    """An `enqueue` that publishes to the given broker instead of the configured one."""
    from julieops.celery import app

    def send(run_id: int, queue: str) -> None:
        with app.connection_for_write(broker_url) as conn:
            tasks.run_step.apply_async(args=[run_id], queue=queue, connection=conn)

    return lambda run: transaction.on_commit(lambda: send(run.pk, run.queue))


def ticks(run) -> list[str]:
    return list(
        LogLine.objects.filter(run=run, text__startswith="tic ")
        .order_by("seq")
        .values_list("text", flat=True)
    )


def test_it_loses_no_log_line_when_redis_restarts_during_a_run(
    job, alice, broker, monkeypatch, tmp_path
):
    monkeypatch.setattr(tasks, "enqueue", send_through(broker.url()))
    worker = Worker(env={"CELERY_BROKER_URL": broker.url()}).start()
    try:
        job.site.worker_queue = worker.queue
        job.site.save()
        # Long enough that the restart (slow on a loaded machine) ends while the run goes on.
        step = probe_step(job, "probe.sleep", probe_seconds=20, probe_tick=0.02)
        run = actions.start_run(step, alice)
        wait_for(lambda: LogLine.objects.filter(run=run, text="tic 20").exists(), timeout=60)
        broker.restart(down_for=1.0)
        assert refresh(run).status == "running"
        wait_for(lambda: refresh(run).status not in ("queued", "running"), timeout=60)
        assert run.status == "passed", (run.summary, run.error, worker.log()[-3000:])
        seqs = list(run.log_lines.order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, len(seqs) + 1)) and run.last_seq == len(seqs)
        n = len(ticks(run))
        assert n > 40 and ticks(run) == [f"tic {i}" for i in range(1, n + 1)]
        assert run.summary == f"{n} tics"

        # The worker reconnected to the new, empty Redis: the next run goes through.
        job.options = {**job.options, "probe_seconds": 0.3}
        job.save()
        again = actions.start_run(step, alice, reason="après le redémarrage de Redis")
        wait_for(lambda: refresh(again).status not in ("queued", "running"), timeout=90)
        assert again.status == "passed", (again.summary, again.error, worker.log()[-3000:])
    finally:
        worker.stop()
