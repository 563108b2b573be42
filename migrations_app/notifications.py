"""Tell people when a job needs them: a step failed, an approval is awaited, a job ended.

E-mail goes through Django's mail API to the job's assignee and JULIEOPS_NOTIFY_EMAILS;
an optional webhook (JULIEOPS_WEBHOOK_URL) receives the same event as signed JSON.
Everything is sent after the surrounding transaction commits, and nothing here ever raises
into the caller: a notification that cannot be delivered is logged, the work goes on.
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.request

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from migrations_app.choices import RunStatus, StepStatus

logger = logging.getLogger(__name__)

EVENTS = ("step_failed", "approval_awaited", "job_finished")
SIGNATURE_HEADER = "X-JulieOps-Signature"
TIMESTAMP_HEADER = "X-JulieOps-Timestamp"


def notify(event: str, job, step=None, run=None) -> None:
    """Send `event` about `job` once the current transaction commits (at once outside one)."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    try:
        # A savepoint: a failed query here must not spoil the caller's transaction.
        with transaction.atomic():
            payload = build_payload(event, job, step, run)
            recipients = _recipients(job)
    except Exception:
        logger.warning(
            "notification %s for job %s could not be prepared", event, job.pk, exc_info=True
        )
        return
    transaction.on_commit(lambda: _deliver(payload, recipients))


# ---------------------------------------------------------------- hooks (one call each)


def after_run(run, status: str) -> None:
    """A run ended (runner.finish, reaper): a failure, or a finished step that may unlock an
    approval. Reads the step again: it follows only its latest run."""
    try:
        from migrations_app.models import JobStep, StepRun

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


def _deliver(payload: dict, recipients: list[str]) -> None:
    if recipients:
        try:
            subject, body = message(payload)
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except Exception:
            logger.warning("notification e-mail %s not sent", payload["event"], exc_info=True)
    if settings.JULIEOPS_WEBHOOK_URL:
        post_webhook(payload)


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
