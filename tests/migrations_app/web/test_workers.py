"""The workers page and site queues, with real Celery worker processes over Redis."""

import socket
import time
import uuid

import pytest
from django.test import override_settings

from migrations_app import actions
from migrations_app.models import JobStep, LogLine, Site, StepRun
from migrations_app.tasks import reap_runs
from tests.conftest import client_for
from tests.support.worker import Worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def site_queue() -> str:
    return f"site-{uuid.uuid4().hex[:10]}"


def queues_on_page(client):
    response = client.get("/workers/")
    assert response.status_code == 200
    return {q["name"]: q for q in response.context["queues"]}, response.content.decode()


def test_it_lists_live_workers_and_flags_a_site_queue_nobody_serves(practice, job, alice):
    served, orphan = site_queue(), site_queue()
    practice.site.worker_queue = served
    practice.site.save()
    Site.objects.create(customer=practice.customer, name="Corbeil", worker_queue=orphan)
    StepRun.objects.create(step=job.steps.get(key="data.mirror"), status="queued", queue=orphan)
    client = client_for(alice)
    worker = Worker(served).start()
    try:
        queues, page = queues_on_page(client)
        name = f"{served}@{socket.gethostname()}"
        assert queues[served]["workers"] == [name] and not queues[served]["orphan"]
        assert name in page
        assert queues[orphan]["orphan"] and queues[orphan]["queued"] == 1
        assert f'class="orphan" data-queue="{orphan}"' in page
        assert [s.name for s in queues[orphan]["sites"]] == ["Corbeil"]
        assert "default" in queues
    finally:
        worker.stop()
    # Liveness, not configuration: once the worker is gone its queue is flagged too.
    queues, _ = queues_on_page(client)
    assert queues[served]["orphan"] and queues[served]["workers"] == []


@override_settings(JULIEOPS_QUEUED_RESEND_AFTER=0)
def test_it_runs_a_step_queued_for_an_offline_site_once_its_worker_connects(job, alice):
    queue = site_queue()
    job.site.worker_queue = queue
    job.site.save()
    job.options = {"probe_lines": 3}
    job.save()
    step = JobStep.objects.create(job=job, key="probe.log", phase=9, order=1, kind="auto")
    run = actions.start_run(step, alice)
    assert run.queue == queue
    time.sleep(1)
    # The reaper leaves a queued run alone (never "lost") and sends it again.
    outcome = reap_runs()
    assert outcome == {"lost": [], "resend": [run.pk]}
    run.refresh_from_db()
    assert run.status == "queued" and not LogLine.objects.filter(run=run).exists()
    queues, _ = queues_on_page(client_for(alice))
    assert queues[queue]["orphan"] and queues[queue]["queued"] == 1

    worker = Worker(queue).start()
    try:
        wait_for(lambda: StepRun.objects.get(pk=run.pk).status == "passed", timeout=60)
        # Both messages (the first and the re-sent one) reach the worker; the claim lets
        # only one of them run the step.
        wait_for(lambda: "nothing to claim" in worker.log(), timeout=30)
    finally:
        worker.stop()
    assert LogLine.objects.filter(run=run, text__startswith="Début").count() == 1
    assert StepRun.objects.filter(step=step).count() == 1
    step.refresh_from_db()
    assert step.status == "passed"
