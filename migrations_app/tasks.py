"""Thin Celery tasks: they take primary keys and call the runner."""

import logging

from celery import shared_task
from django.db import transaction

from . import runner

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


def enqueue(run) -> None:
    """Send the run to its queue once the transaction that created it commits."""
    transaction.on_commit(lambda: run_step.apply_async(args=[run.pk], queue=run.queue))
