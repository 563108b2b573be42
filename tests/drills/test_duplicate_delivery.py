"""Drill: the same message delivered several times to two workers racing for it.

One execution: one claim, one "Début" line, one manifest, one step.finished audit event."""

import pytest

from migrations_app import actions
from migrations_app.models import AuditEvent, Evidence, LogLine
from migrations_app.tasks import run_step
from tests.support.worker import Worker, wait_for

from .conftest import carried, contents, juliew, media, refresh

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_it_executes_a_mirror_delivered_three_times_to_two_workers_once(located, alice, tmp_path):
    job = located
    job.site.worker_queue = f"drill-dup-{job.pk}"
    job.site.save()
    workers = [Worker(job.site.worker_queue, env=media(tmp_path)) for _ in range(2)]
    for n, w in enumerate(workers):  # one log file each (the default name is per queue)
        w.log_path = tmp_path / f"worker-{n}.log"
        w.start()
    try:
        step = job.steps.get(key="data.mirror")
        run = actions.start_run(step, alice)
        for _ in range(2):  # the broker delivers it again (a redelivery after a timeout)
            run_step.apply_async(args=[run.pk], queue=job.site.worker_queue)
        wait_for(lambda: refresh(run).status not in ("queued", "running"), timeout=90)
        # Every copy of the message is consumed: two of them find nothing to claim.
        wait_for(lambda: sum(w.log().count("nothing to claim") for w in workers) == 2, timeout=30)
    finally:
        for w in workers:
            w.stop()
    assert run.status == "passed", (run.summary, run.error)
    assert LogLine.objects.filter(run=run, text__startswith="Début").count() == 1
    assert Evidence.objects.filter(run=run, kind="mirror-manifest").count() == 1
    assert AuditEvent.objects.filter(action="data.mirror").count() == 1
    assert AuditEvent.objects.filter(action="step.finished", data__run=run.pk).count() == 1
    assert sum(w.log().count("] received") for w in workers) == 3
    assert contents(juliew(job.target.root_path)) == carried(contents(juliew(job.source.root_path)))
