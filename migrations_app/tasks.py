"""Thin Celery tasks: they take primary keys and call the runner or the notifications."""

import logging
from datetime import timedelta

from celery import shared_task
from django.db import transaction

import julieops.celery  # noqa: F401  (the configured app exists before any task is bound)
from migrations_app import notifications
from migrations_app.execution import runner, watch

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_step(run_id: int) -> str | None:
    return runner.execute(run_id)


@shared_task(ignore_result=True)
def reap_runs() -> dict:
    """On its own queue and schedule (settings.CELERY_BEAT_SCHEDULE); its pass is recorded
    first, so the pages can say when it stopped running."""
    watch.record_reaper_pass()
    outcome = runner.reap()
    for run_id, queue in outcome["resend"]:
        logger.warning("run %s still queued: sending it again to %s", run_id, queue)
        run_step.apply_async(args=[run_id], queue=queue)
    if outcome["lost"]:
        logger.warning("runs marked lost: %s", outcome["lost"])
    unsent = notifications.unsent(NOTIFICATION_RESEND_AFTER, NOTIFICATION_ATTEMPTS)
    if unsent:
        logger.warning("notifications still unsent: sending them again: %s", unsent)
    for notification_id in unsent:
        notifications.enqueue_delivery(notification_id)
    return {"lost": outcome["lost"], "resend": [pk for pk, _ in outcome["resend"]]}


NOTIFICATION_ATTEMPTS = 8
NOTIFICATION_RESEND_AFTER = timedelta(minutes=5)


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=NOTIFICATION_ATTEMPTS)
def deliver_notification(self, notification_id: int) -> bool:
    """One outbox row; what failed is retried with a growing wait, then left to the reaper."""
    if notifications.deliver(notification_id):
        return True
    raise self.retry(countdown=min(600, 15 * 2**self.request.retries))


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def check_connection(machine_id: int, user_id: int | None = None) -> str:
    """« Tester la connexion »: the result lands on the machine, the page polls for it."""
    from migrations_app.execution.connection_check import check_connection as check

    return check(machine_id, user_id)["state"]


def enqueue_connection_check(machine, user) -> None:
    from migrations_app.execution.connection_check import queue_for

    queue = queue_for(machine)
    transaction.on_commit(
        lambda: check_connection.apply_async(args=[machine.pk, user.pk], queue=queue)
    )


def enqueue(run) -> None:
    """Send the run to its queue once the transaction that created it commits."""
    transaction.on_commit(lambda: run_step.apply_async(args=[run.pk], queue=run.queue))
