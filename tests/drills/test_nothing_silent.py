"""Drills: nothing waits silently. A run queued with no live worker on its queue, a reaper
that does not run (no beat), a run whose worker answers but which no longer moves: each is
said in French on the job page, the overview's « needs a person » and the workers page;
a supervisor can mark a stalled run lost, audited. Real workers over Redis."""

import html
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from migrations_app import actions
from migrations_app.execution import watch
from migrations_app.models import AuditEvent, Beacon, StepRun
from migrations_app.tasks import reap_runs
from tests.conftest import client_for
from tests.support.worker import Worker, wait_for

from .conftest import probe_step, refresh

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PAGES = ("/overview/", "/workers/")


def pages(client, job, run) -> dict:
    urls = [f"/jobs/{job.pk}/?step={run.step.key}&run={run.pk}", *PAGES]
    found = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        found[url.split("?")[0]] = html.unescape(response.content.decode())
    return found


def test_a_missing_beat_is_said_on_every_page(job, alice):
    Beacon.objects.all().delete()
    step = probe_step(job, "probe.log", probe_lines=1)
    run = actions.start_run(step, alice)
    client = client_for(alice)
    for url, page in pages(client, job, run).items():
        assert "data-reaper-warning" in page and "n'a jamais tourné" in page, url
    # A pass of the reaper (as beat sends it) clears it.
    reap_runs()
    for url, page in pages(client, job, run).items():
        assert "data-reaper-warning" not in page, url
    # An old pass is a missing beat again, with its age.
    Beacon.objects.update(at=timezone.now() - timedelta(minutes=7))
    for url, page in pages(client, job, run).items():
        assert "n'a pas tourné depuis 7 min" in page, url


@override_settings(JULIEOPS_QUEUED_WARN_AFTER=5)
def test_a_run_queued_with_no_live_worker_is_said_then_runs_once_one_connects(job, alice):
    queue = f"drill-silent-{job.pk}"
    job.site.worker_queue = queue
    job.site.save()
    step = probe_step(job, "probe.log", probe_lines=3)
    run = actions.start_run(step, alice)
    client = client_for(alice)
    reap_runs()  # beat runs: only the queue has no worker
    assert not any("data-run-warning" in p for p in pages(client, job, run).values())
    StepRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(seconds=90))
    for url, page in pages(client, job, run).items():
        assert "aucun worker vivant connu ne sert la file" in page and queue in page, url
        assert "En attente depuis 1 min 3" in page, url  # 90 s and the pages' own time
    worker = Worker(queue).start()
    try:
        reap_runs()  # the reaper sees the worker (and would re-send a stale message)
        assert queue in Beacon.objects.get(name=watch.REAPER).data["queues"]
        wait_for(lambda: refresh(run).status == "passed", timeout=60)
    finally:
        worker.stop()
    assert not any("data-run-warning" in p for p in pages(client, job, run).values())


@override_settings(JULIEOPS_STALLED_AFTER=2)
def test_a_stalled_run_is_shown_and_a_supervisor_marks_it_lost(job, alice, bob):
    queue = f"drill-stalled-{job.pk}"
    job.site.worker_queue = queue
    job.site.save()
    step = probe_step(job, "probe.hang", probe_hang=3600)
    worker = Worker(queue).start()
    try:
        run = actions.start_run(step, alice)
        wait_for(lambda: refresh(run).status == "running", timeout=60)
        reap_runs()
        wait_for(lambda: refresh(run).stalled, timeout=30, interval=0.2)
        assert run.signal_age is not None and run.signal_age < 5  # heartbeat alive
        assert reap_runs()["lost"] == []  # the reaper alone cannot see it
        for url, page in pages(client_for(alice), job, run).items():
            assert "Bloquée : le worker répond mais rien n'a avancé" in page, url
        page = pages(client_for(alice), job, run)[f"/jobs/{job.pk}/"]
        assert "dernier signal il y a" in page
        # A technician cannot; a supervisor can, with a reason.
        url = f"/jobs/{job.pk}/steps/{step.pk}/lose/"
        assert client_for(alice).post(url, {"run": run.pk, "note": "bloqué"}).status_code == 403
        assert client_for(bob).post(url, {"run": run.pk, "note": ""}).status_code == 400
        response = client_for(bob).post(url, {"run": run.pk, "note": "lecture SFTP bloquée"})
        assert response.status_code == 302
        assert refresh(run).status == "lost"
        event = AuditEvent.objects.get(action="run.lost", data__run=run.pk)
        assert event.actor_name == "bob" or event.actor_id == bob.pk
        assert event.reason == "lecture SFTP bloquée"
        assert "marquée perdue par bob" in run.log_lines.order_by("-seq").first().text
        step.refresh_from_db()
        assert step.status == "failed"  # retryable
    finally:
        worker.kill()
        worker.stop()


@override_settings(JULIEOPS_HEARTBEAT_TIMEOUT=2)
def test_the_reaper_audits_a_run_it_marks_lost(job, alice):
    queue = f"drill-reaped-{job.pk}"
    job.site.worker_queue = queue
    job.site.save()
    step = probe_step(job, "probe.hang", probe_hang=3600)
    worker = Worker(queue).start()
    try:
        run = actions.start_run(step, alice)
        wait_for(lambda: refresh(run).status == "running", timeout=60)
        worker.kill()
    finally:
        worker.stop()
    wait_for(lambda: run.pk in reap_runs()["lost"], timeout=30, interval=0.5)
    event = AuditEvent.objects.get(action="run.lost", data__run=run.pk)
    assert event.actor_name == "reaper" and event.data["worker"] == refresh(run).worker
