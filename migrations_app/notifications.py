"""Tell people when a job needs them: a step failed, an approval is awaited, a job ended.

E-mail goes through Django's mail API to the job's assignee and JULIEOPS_NOTIFY_EMAILS;
an optional webhook (JULIEOPS_WEBHOOK_URL) receives the same event as signed JSON.

`notify` writes an outbox row (`Notification`) in the caller's transaction; once it commits, a
worker delivers it (`tasks.deliver_notification`), so no page waits for a mail server or a
webhook. Delivery is claimed row by row, each channel is marked done once it went through, and
what failed is tried again (the task retries, the reaper re-sends rows left unsent): every
event is delivered once per channel. Nothing here ever raises into the caller: a notification
that cannot be prepared or delivered is logged, the work goes on.
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from migrations_app.choices import RunStatus, StepStatus
from migrations_app.models import AuditEvent, JobStep, Notification, StepRun

logger = logging.getLogger(__name__)

EVENTS = ("step_failed", "approval_awaited", "job_finished")
SIGNATURE_HEADER = "X-JulieOps-Signature"
TIMESTAMP_HEADER = "X-JulieOps-Timestamp"


def notify(event: str, job, step=None, run=None) -> None:
    """Queue `event` about `job`: an outbox row now, delivered by a worker once the current
    transaction commits (at once outside one)."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    try:
        # A savepoint: a failed query here must not spoil the caller's transaction.
        with transaction.atomic():
            payload = build_payload(event, job, step, run)
            row = Notification.objects.create(
                event=event, job_id=job.pk, payload=payload, recipients=_recipients(job)
            )
    except Exception:
        logger.warning(
            "notification %s for job %s could not be prepared", event, job.pk, exc_info=True
        )
        return
    transaction.on_commit(lambda: enqueue_delivery(row.pk))


def enqueue_delivery(notification_id: int) -> None:
    """Hand the row to a worker. The task is named, not imported: tasks import the runner,
    which notifies. A broker that is down leaves the row for the reaper to re-send."""
    from julieops.celery import app  # imported when needed: Celery is 60 ms of start-up

    try:
        app.send_task(
            "migrations_app.tasks.deliver_notification",
            args=[notification_id],
            queue=settings.CELERY_TASK_DEFAULT_QUEUE,
        )
    except Exception:
        logger.warning("notification %s not queued; the reaper will", notification_id)


def unsent(older_than: timedelta, max_attempts: int) -> list[int]:
    """Rows still to deliver that nobody is delivering (for the reaper)."""
    before = timezone.now() - older_than
    return list(
        Notification.objects.filter(sent_at__isnull=True, attempts__lt=max_attempts)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=before), created_at__lt=before)
        .values_list("pk", flat=True)[:200]
    )


# ---------------------------------------------------------------- hooks (one call each)


def after_run(run, status: str) -> None:
    """A run ended (runner.finish, reaper): a failure, or a finished step that may unlock an
    approval. Reads the step again: it follows only its latest run."""
    try:
        with transaction.atomic():  # savepoint, as in notify()
            run = StepRun.objects.get(pk=run.pk)  # the caller's copy predates the outcome
            step = JobStep.objects.select_related(
                "job__customer", "job__site", "job__assignee"
            ).get(pk=run.step_id)
        if status in (RunStatus.FAILED, RunStatus.LOST) and step.status == StepStatus.FAILED:
            notify("step_failed", step.job, step, run)
        elif step.status in StepStatus.finished():
            approvals_unlocked_by(step)
    except Exception:
        logger.warning("notification after run %s failed", run.pk, exc_info=True)


def approvals_unlocked_by(step) -> None:
    """`step` just finished: notify each step of its job that now awaits a supervisor."""
    try:
        for other in step.job.steps.filter(approved_at__isnull=True):
            if step.key in other.definition.depends_on:
                announce_if_awaited(other)
    except Exception:
        logger.warning("approval notification after step %s failed", step.pk, exc_info=True)


def announce_if_awaited(step) -> None:
    """Notify `approval_awaited` when the step has something to approve (its own rule) and
    its dependencies are finished."""
    try:
        job = step.job
        with transaction.atomic():  # savepoint, as in notify()
            if step.status in StepStatus.active() or not step.definition.approvable(step):
                return
            finished = set(
                job.steps.filter(status__in=StepStatus.finished()).values_list("key", flat=True)
            )
        if set(step.definition.depends_on) <= finished:
            notify("approval_awaited", job, step)
    except Exception:
        logger.warning("approval notification for step %s failed", step.pk, exc_info=True)


# ---------------------------------------------------------------- content


def build_payload(event: str, job, step=None, run=None) -> dict:
    """The event as plain data: no credentials, no run errors or logs, only what a person
    needs to find the job."""
    payload = {
        "event": event,
        "sent_at": timezone.now().isoformat(),
        "job": {
            "id": job.pk,
            "title": str(job),
            "customer": job.customer.name,
            "site": job.site.name,
            "status": job.status,
            "assignee": job.assignee.get_username() if job.assignee else None,
            "url": absolute_url(job.get_absolute_url()),
        },
        "step": None,
        "run": None,
    }
    if event == "job_finished":
        payload["audit_head"] = audit_head()
    if step is not None:
        payload["step"] = {
            "key": step.key,
            "title": str(step.definition.title),
            "status": step.status,
            "url": absolute_url(f"{job.get_absolute_url()}?step={step.key}"),
        }
    if run is not None:
        payload["run"] = {
            "id": run.pk,
            "attempt": run.attempt,
            "status": run.status,
            "summary": (run.summary or "")[:500],
            "worker": run.worker,
        }
    return payload


def audit_head() -> dict | None:
    """The audit chain's newest event (number, time, hash): kept by the webhook's receiver,
    it makes deleting the newest rows detectable from outside."""
    last = AuditEvent.objects.order_by("-id").values("id", "created_at", "hash").first()
    if last is None:
        return None
    return {"id": last["id"], "created_at": last["created_at"].isoformat(), "hash": last["hash"]}


def absolute_url(path: str) -> str:
    return settings.JULIEOPS_BASE_URL.rstrip("/") + path if settings.JULIEOPS_BASE_URL else path


def _recipients(job) -> list[str]:
    emails = []
    if job.assignee and job.assignee.email:
        emails.append(job.assignee.email)
    for email in settings.JULIEOPS_NOTIFY_EMAILS:
        if email not in emails:
            emails.append(email)
    return emails


def message(payload: dict) -> tuple[str, str]:
    """Subject and body, in the site's language."""
    job, step, run = payload["job"], payload["step"], payload["run"]
    with translation.override(settings.LANGUAGE_CODE):
        if payload["event"] == "step_failed":
            subject = _("Step failed: %(step)s — %(job)s") % {
                "step": step["title"],
                "job": job["title"],
            }
        elif payload["event"] == "approval_awaited":
            subject = _("Approval awaited: %(step)s — %(job)s") % {
                "step": step["title"],
                "job": job["title"],
            }
        else:
            subject = _("Migration finished: %(job)s") % {"job": job["title"]}
        lines = [
            f"{_('Customer')} : {job['customer']}",
            f"{_('Site')} : {job['site']}",
            f"{_('Migration')} : {job['title']}",
        ]
        if step:
            lines.append(f"{_('Step')} : {step['title']} ({step['key']})")
        if run:
            lines.append(f"{_('Attempt')} {run['attempt']} : {run['summary']}")
        lines += ["", (step or job)["url"]]
    return f"[JulieOps] {subject}", "\n".join(lines)


# ---------------------------------------------------------------- delivery


CLAIM_SECONDS = 120  # a delivery claimed longer ago than this was interrupted


def deliver(notification_id: int) -> bool:
    """Deliver one outbox row: claim it (a second worker finds nothing to claim), send each
    channel not done yet, record what went through. True once nothing is left to send."""
    now = timezone.now()
    stale = now - timedelta(seconds=CLAIM_SECONDS)
    claimed = (
        Notification.objects.filter(pk=notification_id, sent_at__isnull=True)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return Notification.objects.filter(pk=notification_id, sent_at__isnull=False).exists()
    row = Notification.objects.get(pk=notification_id)
    errors = []
    if not row.mail_done:
        row.mail_done = _send_mail(row.payload, row.recipients)
        if not row.mail_done:
            errors.append("e-mail")
    if not row.webhook_done:
        row.webhook_done = _send_webhook(row.payload)
        if not row.webhook_done:
            errors.append("webhook")
    row.last_error = ", ".join(errors)
    row.sent_at = None if errors else timezone.now()
    row.claimed_at = None
    row.save(update_fields=["mail_done", "webhook_done", "last_error", "sent_at", "claimed_at"])
    return not errors


def _send_mail(payload: dict, recipients: list[str]) -> bool:
    if not recipients:
        return True
    try:
        subject, body = message(payload)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:
        logger.warning("notification e-mail %s not sent", payload["event"], exc_info=True)
        return False
    return True


def _send_webhook(payload: dict) -> bool:
    """True when the webhook went through, or there is none to send to. A webhook that is
    misconfigured (no secret, not http) is logged and never retried."""
    url, secret = settings.JULIEOPS_WEBHOOK_URL, settings.JULIEOPS_WEBHOOK_SECRET
    if not url:
        return True
    if not secret or not url.startswith(("https://", "http://")):
        post_webhook(payload)  # logs why it is not sent; a retry would not change that
        return True
    return post_webhook(payload)


def sign(body: bytes, timestamp: str, secret: str) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>"; the receiver recomputes it to trust the event."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def post_webhook(payload: dict) -> bool:
    url, secret = settings.JULIEOPS_WEBHOOK_URL, settings.JULIEOPS_WEBHOOK_SECRET
    if not url.startswith(("https://", "http://")):
        logger.warning("webhook URL must be http(s); notification %s not sent", payload["event"])
        return False
    if not secret:
        # An unsigned event could be forged by anyone who knows the receiver's address.
        logger.warning("JULIEOPS_WEBHOOK_SECRET is empty; webhook %s not sent", payload["event"])
        return False
    body = json.dumps(payload, ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "JulieOps-notifications",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(body, timestamp, secret),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.JULIEOPS_WEBHOOK_TIMEOUT) as response:  # noqa: S310
            ok = 200 <= response.status < 300
    except Exception as exc:
        logger.warning("webhook %s failed: %s", payload["event"], type(exc).__name__)
        return False
    if not ok:
        logger.warning("webhook %s answered %s", payload["event"], response.status)
    return ok
