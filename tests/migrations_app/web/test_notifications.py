"""Notifications: e-mail through Django's mail API and a signed webhook received by a real
HTTP server on 127.0.0.1, when a step fails, an approval is awaited, or a job ends."""

import hashlib
import hmac
import json
import logging
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings
from django.utils import timezone

from migrations_app import actions, notifications, status
from migrations_app.execution import runner
from migrations_app.models import Credential, JobStep, MigrationJob, Notification, StepRun
from migrations_app.steps import pxdatas

SECRET = "webhook-shared-secret-for-tests"
MACHINE_SECRET = "Mot2Passe-Serveur!"


class Receiver:
    """A webhook endpoint: records each POST and answers `status`."""

    def __init__(self, status=204):
        self.requests = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append({"headers": headers, "body": body})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/julieops"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self):
        return [json.loads(r["body"]) for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def deliver_in_process(monkeypatch):
    """The worker's part done here, at commit: these tests read what is delivered. That a
    real worker delivers it is tested in tests/migrations_app/test_execution.py."""
    monkeypatch.setattr(notifications, "enqueue_delivery", notifications.deliver)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def notified(job, alice, receiver, settings):
    """The job assigned to alice (with an e-mail), two team addresses, the webhook on."""
    alice.email = "alice@cabinet-support.example"
    alice.save()
    MigrationJob.objects.filter(pk=job.pk).update(assignee=alice)
    job.refresh_from_db()
    settings.JULIEOPS_NOTIFY_EMAILS = ["support@julie.example", "chef@julie.example"]
    settings.JULIEOPS_WEBHOOK_URL = receiver.url
    settings.JULIEOPS_WEBHOOK_SECRET = SECRET
    settings.JULIEOPS_BASE_URL = "https://julieops.example"
    credential = Credential(name="admin ancien serveur", username="Administrateur")
    credential.secret = MACHINE_SECRET
    credential.save()
    job.source.credential = credential
    job.source.save()
    return job


def verify(request) -> dict:
    headers = request["headers"]
    timestamp = headers["x-julieops-timestamp"]
    expected = hmac.new(
        SECRET.encode(), timestamp.encode() + b"." + request["body"], hashlib.sha256
    )
    assert hmac.compare_digest(headers["x-julieops-signature"], "sha256=" + expected.hexdigest())
    assert headers["content-type"] == "application/json"
    return json.loads(request["body"])


def running_run(step, **fields):
    run = StepRun.objects.create(step=step, status="queued", queue="default", **fields)
    assert status.claim(run.pk, "worker-test:1")
    run.refresh_from_db()
    return run


def test_it_tells_the_assignee_and_the_team_when_a_step_fails(
    notified, receiver, mailoutbox, django_capture_on_commit_callbacks
):
    step = notified.steps.get(key="source.locate")
    run = running_run(step)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        runner.finish(
            run, "failed", summary="Dossier Juliew introuvable sur D:",
            error=f"auth with {MACHINE_SECRET} refused",
        )  # fmt: skip
    assert len(callbacks) == 1
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [
        "alice@cabinet-support.example",
        "support@julie.example",
        "chef@julie.example",
    ]
    assert "[JulieOps]" in mail.subject and "Migration de test" in mail.subject
    assert "Dossier Juliew introuvable sur D:" in mail.body
    assert f"https://julieops.example/jobs/{notified.pk}/?step=source.locate" in mail.body
    [request] = receiver.requests
    event = verify(request)
    assert event["event"] == "step_failed"
    assert event["job"]["id"] == notified.pk and event["step"]["key"] == "source.locate"
    assert event["run"] == {
        "id": run.pk, "attempt": 1, "status": "failed",
        "summary": "Dossier Juliew introuvable sur D:", "worker": "worker-test:1",
    }  # fmt: skip
    for text in (request["body"].decode(), mail.body, mail.subject):
        assert MACHINE_SECRET not in text and "Administrateur" not in text


def test_it_notifies_a_run_the_reaper_marks_lost(
    notified, receiver, mailoutbox, django_capture_on_commit_callbacks, settings
):
    run = running_run(notified.steps.get(key="target.share"))
    StepRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert runner.reap()["lost"] == [run.pk]
    assert [e["event"] for e in receiver.events()] == ["step_failed"]
    assert receiver.events()[0]["run"]["status"] == "lost"
    assert len(mailoutbox) == 1


def test_it_does_not_notify_a_passed_step_or_a_superseded_failure(
    notified, receiver, mailoutbox, django_capture_on_commit_callbacks
):
    step = notified.steps.get(key="source.locate")
    with django_capture_on_commit_callbacks(execute=True):
        runner.finish(running_run(step), "passed", summary="ok")
        old = running_run(step)
        StepRun.objects.create(step=step, attempt=2, status="queued")  # a retry already asked
        runner.finish(old, "failed", summary="trop tard")
    assert receiver.requests == [] and mailoutbox == []


def test_it_announces_an_approval_once_its_dependencies_are_finished(
    notified, receiver, mailoutbox, django_capture_on_commit_callbacks, alice
):
    px_step = notified.steps.get(key="data.pxdatas")
    # The inventory and the freeze (which the snapshot and the pxdatas step come after) done.
    JobStep.objects.filter(job=notified, key__in=["source.locate", "cutover.freeze"]).update(
        status="passed"
    )
    with django_capture_on_commit_callbacks(execute=True):
        # A purge decision waits for a supervisor, but not before snapshot and mirror ended.
        pxdatas.request_decision(px_step, alice, "purge", "ARL reçus pour toutes les FSE")
        runner.finish(running_run(notified.steps.get(key="data.mirror")), "passed", summary="ok")
    assert receiver.requests == []
    with django_capture_on_commit_callbacks(execute=True):
        actions.tick_step(
            notified.steps.get(key="source.pxdatas_snapshot"), alice, "photo prise à la main"
        )
    [event] = [verify(r) for r in receiver.requests]
    assert event["event"] == "approval_awaited" and event["step"]["key"] == "data.pxdatas"
    assert len(mailoutbox) == 1 and "data.pxdatas" in mailoutbox[0].body


def test_it_announces_nothing_when_the_pxdatas_step_needs_no_decision(
    notified, receiver, django_capture_on_commit_callbacks, alice
):
    JobStep.objects.filter(job=notified, key__in=["source.locate", "cutover.freeze"]).update(
        status="passed"
    )
    with django_capture_on_commit_callbacks(execute=True):
        runner.finish(running_run(notified.steps.get(key="data.mirror")), "passed", summary="ok")
        actions.tick_step(notified.steps.get(key="source.pxdatas_snapshot"), alice, "photo")
    assert receiver.requests == []


def test_it_announces_the_end_of_a_job_once(
    notified, receiver, mailoutbox, django_capture_on_commit_callbacks, alice, bob
):
    last = notified.steps.get(key="post.signoff")
    JobStep.objects.filter(job=notified).exclude(pk=last.pk).update(status="passed")
    status.refresh_job(notified)
    stale = MigrationJob.objects.get(pk=notified.pk)  # a second process holding the job
    assert stale.status == "in_progress"
    with django_capture_on_commit_callbacks(execute=True):
        actions.tick_step(last, bob, "Recette signée par le Dr Martin")
        status.refresh_job(stale)
        status.refresh_job(MigrationJob.objects.get(pk=notified.pk))
    assert [e["event"] for e in receiver.events()] == ["job_finished"]
    assert receiver.events()[0]["job"]["status"] == "done"
    assert len(mailoutbox) == 1


def test_it_never_lets_a_broken_webhook_stop_the_work(
    notified, mailoutbox, django_capture_on_commit_callbacks, settings, caplog
):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.JULIEOPS_WEBHOOK_URL = f"http://127.0.0.1:{closed_port}/hook"
    run = running_run(notified.steps.get(key="source.locate"))
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        runner.finish(run, "failed", summary="échec")
    run.refresh_from_db()
    assert run.status == "failed" and len(mailoutbox) == 1
    assert "webhook step_failed failed" in caplog.text
    assert SECRET not in caplog.text


@override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_PORT=1)
def test_it_never_lets_a_broken_mail_server_stop_the_work(
    notified, receiver, django_capture_on_commit_callbacks, caplog
):
    run = running_run(notified.steps.get(key="source.locate"))
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        runner.finish(run, "failed", summary="échec")
    assert "notification e-mail step_failed not sent" in caplog.text
    assert [e["event"] for e in receiver.events()] == ["step_failed"]


def test_it_does_not_send_an_unsigned_webhook(
    notified, receiver, django_capture_on_commit_callbacks, settings, caplog
):
    settings.JULIEOPS_WEBHOOK_SECRET = ""
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        runner.finish(running_run(notified.steps.get(key="source.locate")), "failed", summary="x")
    assert receiver.requests == []
    assert "JULIEOPS_WEBHOOK_SECRET is empty" in caplog.text


def test_it_logs_a_webhook_that_answers_an_error(
    notified, receiver, django_capture_on_commit_callbacks, caplog
):
    receiver.status = 500
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        runner.finish(running_run(notified.steps.get(key="source.locate")), "failed", summary="x")
    assert len(receiver.requests) == 1
    assert "webhook step_failed failed: HTTPError" in caplog.text


def test_it_records_the_outcome_even_when_the_notification_cannot_be_built(
    notified, receiver, django_capture_on_commit_callbacks, caplog
):
    # A step whose key left the catalogue: its title cannot be found for the message.
    step = JobStep.objects.create(job=notified, key="ancienne.etape", phase=9, order=1, kind="auto")
    run = running_run(step)
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        runner.finish(run, "failed", summary="échec")
    run.refresh_from_db()
    step.refresh_from_db()
    assert run.status == "failed" and step.status == "failed"
    assert "could not be prepared" in caplog.text
    assert receiver.requests == []


def test_it_leaves_the_sending_to_a_worker(
    notified, receiver, mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(notifications, "enqueue_delivery", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        runner.finish(running_run(notified.steps.get(key="source.locate")), "failed", summary="x")
    # Committed: an outbox row handed to the workers, nothing sent from here.
    [row] = Notification.objects.all()
    assert queued == [row.pk] and row.sent_at is None and row.event == "step_failed"
    assert receiver.requests == [] and mailoutbox == []
    assert notifications.deliver(row.pk)
    assert [e["event"] for e in receiver.events()] == ["step_failed"] and len(mailoutbox) == 1


def test_it_retries_only_what_failed_and_delivers_each_channel_once(
    notified, receiver, mailoutbox, django_capture_on_commit_callbacks
):
    receiver.status = 500
    with django_capture_on_commit_callbacks(execute=True):
        runner.finish(running_run(notified.steps.get(key="source.locate")), "failed", summary="x")
    row = Notification.objects.get()
    assert row.mail_done and not row.webhook_done and row.sent_at is None
    assert row.last_error == "webhook" and len(mailoutbox) == 1
    receiver.status = 204
    assert notifications.deliver(row.pk)
    assert notifications.deliver(row.pk)  # already sent: nothing goes out again
    assert len(receiver.requests) == 2 and len(mailoutbox) == 1
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 2


def test_it_gives_the_reaper_the_rows_nobody_delivered(notified, monkeypatch):
    from migrations_app.tasks import reap_runs

    monkeypatch.setattr(notifications, "enqueue_delivery", lambda pk: None)  # broker down
    notifications.notify("job_finished", notified)
    row = Notification.objects.get()
    Notification.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(hours=1))
    sent = []
    monkeypatch.setattr(notifications, "enqueue_delivery", sent.append)
    reap_runs()
    assert sent == [row.pk]
