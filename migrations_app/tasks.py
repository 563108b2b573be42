"""Thin Celery tasks: they take primary keys and call the runner."""

import logging

from celery import shared_task
from django.db import transaction

from migrations_app.execution import runner

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_step(run_id: int) -> str | None:
    return runner.execute(run_id)


@shared_task(ignore_result=True)
def reap_runs() -> dict:
    outcome = runner.reap()
    for run_id, queue in outcome["resend"]:
        logger.warning("run %s still queued: sending it again to %s", run_id, queue)
        run_step.apply_async(args=[run_id], queue=queue)
    if outcome["lost"]:
        logger.warning("runs marked lost: %s", outcome["lost"])
    return {"lost": outcome["lost"], "resend": [pk for pk, _ in outcome["resend"]]}


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
