"""Execution with real worker processes over a real Redis broker and PostgreSQL."""

import time

import pytest
from django.test import override_settings

from migrations_app import actions
from migrations_app.execution import runner
from migrations_app.models import JobStep, LogLine, StepRun
from migrations_app.tasks import reap_runs, run_step
from tests.support.worker import Worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def worker():
    w = Worker(concurrency=2).start()
    yield w
    w.stop()


def probe_step(job, key, **options):
    job.options = {**job.options, **options}
    job.save()
    return JobStep.objects.create(job=job, key=key, phase=9, order=1, kind="auto")


def refresh(run):
    run.refresh_from_db()
    return run


def test_it_runs_a_step_end_to_end_in_a_worker_with_gap_free_ordered_logs(job, alice, worker):
    job.site.worker_queue = worker.queue
    job.site.save()
    step = probe_step(job, "probe.log", probe_lines=5000)
    run = actions.start_run(step, alice)
    wait_for(lambda: refresh(run).status == "passed", timeout=60)
    seqs = list(LogLine.objects.filter(run=run).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    texts = list(LogLine.objects.filter(run=run).order_by("seq").values_list("text", flat=True))
    probe = [t for t in texts if t.startswith("ligne ")]
    assert probe == [f"ligne {i}" for i in range(1, 5001)]
    assert run.last_seq == len(seqs)
    step.refresh_from_db()
    assert step.status == "passed" and step.summary == "5000 lignes écrites"
    assert run.worker.endswith(tuple("0123456789")) and run.started_at and run.finished_at


def test_it_runs_the_real_source_locate_step_in_a_worker(job, alice, worker):
    job.site.worker_queue = worker.queue
    job.site.save()
    step = job.steps.get(key="source.locate")
    run = actions.start_run(step, alice)
    wait_for(lambda: refresh(run).status in ("passed", "warning", "failed"), timeout=60)
    assert run.status == "passed", run.error
    job.refresh_from_db()
    assert job.discovered_paths["julie_root"] == "partage/Juliew"
    labels = {item["label"]: item for item in run.result["items"]}
    assert labels["Datas"]["files"] > 0 and labels["XRAY"]["exists"]


def test_it_executes_a_run_delivered_twice_only_once(job, alice, worker):
    job.site.worker_queue = worker.queue
    job.site.save()
    step = probe_step(job, "probe.sleep", probe_seconds=1.5)
    run = actions.start_run(step, alice)
    run_step.apply_async(args=[run.pk], queue=worker.queue)  # the duplicate delivery
    run_step.apply_async(args=[run.pk], queue=worker.queue)
    wait_for(lambda: refresh(run).status == "passed", timeout=60)
    time.sleep(1.5)  # give the duplicates time to be consumed
    starts = LogLine.objects.filter(run=run, text__startswith="Début").count()
    assert starts == 1
    assert "nothing to claim" in worker.log()


@override_settings(JULIEOPS_HEARTBEAT_TIMEOUT=3)
def test_it_marks_a_run_lost_when_its_worker_is_killed(job, alice, worker):
    job.site.worker_queue = worker.queue
    job.site.save()
    step = probe_step(job, "probe.sleep", probe_seconds=120)
    run = actions.start_run(step, alice)
    wait_for(lambda: LogLine.objects.filter(run=run, text="tic 3").exists(), timeout=60)
    worker.kill()  # SIGKILL, the whole process group
    assert refresh(run).status == "running"
    outcome = wait_for(lambda: reap_runs() and refresh(run).status == "lost", timeout=20)
    assert outcome
    step.refresh_from_db()
    assert step.status == "failed"
    last = LogLine.objects.filter(run=run).order_by("-seq").first()
    assert last.level == "error" and "perdue" in last.text
    seqs = list(LogLine.objects.filter(run=run).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    # Retry creates a new run, which a new worker executes.
    job.options = {**job.options, "probe_seconds": 0.5}
    job.save()
    retry = actions.start_run(step, alice)
    assert retry.attempt == 2
    second = Worker(worker.queue).start()
    try:
        wait_for(lambda: refresh(retry).status == "passed", timeout=60)
    finally:
        second.stop()


def test_it_cancels_a_running_run(job, alice, worker):
    job.site.worker_queue = worker.queue
    job.site.save()
    step = probe_step(job, "probe.sleep", probe_seconds=120)
    run = actions.start_run(step, alice)
    wait_for(lambda: refresh(run).status == "running", timeout=60)
    actions.cancel_run(run, alice, reason="mauvais serveur")
    wait_for(lambda: refresh(run).status == "cancelled", timeout=20)
    step.refresh_from_db()
    assert step.status == "todo"


@override_settings(JULIEOPS_QUEUED_RESEND_AFTER=0)
def test_it_resends_a_run_left_queued(job, alice, worker):
    step = probe_step(job, "probe.log", probe_lines=3)
    run = StepRun.objects.create(step=step, queue=worker.queue, requested_by=alice)
    # No message was ever sent (a lost message): the reaper sends it again.
    assert reap_runs()["resend"] == [run.pk]
    wait_for(lambda: refresh(run).status == "passed", timeout=60)


def test_it_does_not_claim_a_cancelled_run(job, alice):
    step = probe_step(job, "probe.log")
    run = StepRun.objects.create(step=step, status="cancelled")
    assert runner.execute(run.pk, "test") is None


def test_it_delivers_notifications_through_a_worker(job, alice, worker, mailoutbox, settings):
    from migrations_app import notifications
    from migrations_app.models import Notification

    settings.CELERY_TASK_DEFAULT_QUEUE = worker.queue
    settings.JULIEOPS_NOTIFY_EMAILS = ["support@julie.example"]
    notifications.notify("job_finished", job)
    row = Notification.objects.get()
    wait_for(lambda: Notification.objects.get(pk=row.pk).sent_at is not None, timeout=60)
    assert "deliver_notification" in worker.log()
