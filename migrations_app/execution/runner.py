"""Executes one StepRun: claim it, build its context, run the step, record the outcome.

Exactly-once: a run is claimed with a conditional UPDATE (queued -> running); a second
delivery of the same message finds nothing to claim. While the step runs, a flusher thread
writes the buffered log lines (gap-free `seq`), the progress and a heartbeat, and notices a
cancel request. A run whose heartbeat stops is marked `lost` by the reaper (tasks.reap_runs).
"""

import logging
import os
import socket
import time
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from julieops.julietree.writer import WriteRefused
from migrations_app import audit, notifications
from migrations_app.choices import AuditCategory, LogLevel, RunStatus
from migrations_app.execution import capture
from migrations_app.execution.context import Cancelled, RunContext
from migrations_app.execution.logbook import Flusher, Progress, StepLogger
from migrations_app.models import LogLine, StepRun
from migrations_app.status import claim, end_run, lose_run
from migrations_app.steps.registry import REGISTRY, Outcome, StepError

logger = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def execute(run_id: int, worker: str | None = None) -> str | None:
    """Run a queued StepRun to its end. Returns its final status, or None if not claimed."""
    worker = worker or worker_name()
    if not claim(run_id, worker):
        logger.info("run %s: nothing to claim (already taken or cancelled)", run_id)
        return None
    # Machines and their credentials now, before the connection is released: loaded lazily on
    # the step's thread they would need the database in the middle of a copy.
    run = StepRun.objects.select_related(
        "step__job__source__credential", "step__job__target__credential", "requested_by"
    ).get(pk=run_id)
    log, progress = StepLogger(run), Progress()
    flusher = Flusher(run, log, progress)
    flusher.start()
    ctx = RunContext(run, log, progress, flusher)
    # Field captures: what the machines answer, masked with the log's own secrets.
    ctx.capture = capture.Recorder(run, log.secrets)
    release_idle_connection()
    definition = REGISTRY.get(run.step.key)
    status, summary, result, error = RunStatus.FAILED, "", {}, ""
    try:
        if definition is None or not definition.is_automated():
            raise StepError(f"L'étape {run.step.key} n'est pas encore automatisée.")
        log.info(f"Début de « {definition.title} » (tentative {run.attempt}) sur {worker}")
        with capture.recording(ctx.capture):
            outcome = definition().run(ctx)
        if not isinstance(outcome, Outcome):
            raise TypeError(f"step {run.step.key} returned {outcome!r}, not an Outcome")
        status = RunStatus(outcome.status)
        summary, result = outcome.summary, {"items": outcome.items, **outcome.data}
        log.write(
            LogLevel.ERROR if status == RunStatus.FAILED else LogLevel.INFO,
            f"Fin : {summary}",
        )
    except Cancelled:
        status, summary = RunStatus.CANCELLED, "Annulée à la demande."
        log.warning("Exécution annulée à la demande.")
    except (StepError, WriteRefused) as exc:
        summary = error = str(exc)
        log.error(f"Échec : {exc}")
    except Exception as exc:  # a bug or an unexpected failure: visible, never silent
        logger.exception("run %s failed", run_id)
        summary = "Erreur inattendue ; voir le journal."
        error = f"{type(exc).__name__}: {exc}"
        log.error(f"Erreur inattendue : {error}")
    finally:
        flusher.stop()
    ctx.capture.save(status, summary, result)
    finish(run, status, summary=summary, result=result, error=error, log=log)
    return status


def release_idle_connection() -> None:
    """Close this thread's connection while the step runs: logs, progress and heartbeat go
    through the flusher's own, and a step that needs the database reopens one. A copy that
    lasts hours then holds one connection, not two: 50 runs at once fit PostgreSQL's
    default 100 connections with the web server beside them."""
    if not connection.in_atomic_block:
        connection.close()


def finish(run: StepRun, status: str, *, summary="", result=None, error="", log=None) -> None:
    """Record the outcome; retried until the database accepts it (nothing is lost)."""
    for attempt in range(30):
        try:
            if log is not None:
                log.flush()
            with transaction.atomic():
                ended = end_run(run, status, summary=summary, result=result or {}, error=error)
                if ended:
                    audit.record(
                        "step.finished",
                        category=AuditCategory.JOB,
                        actor_name=f"worker {run.worker or worker_name()}",
                        job=run.step.job,
                        target=run.step.key,
                        data={"run": run.pk, "status": status, "summary": summary[:500]},
                    )
                    notifications.after_run(run, status)
            return
        except Exception:
            logger.exception("run %s: recording the outcome failed (try %s)", run.pk, attempt + 1)
            close_old_connections()
            time.sleep(min(10, 0.5 * (attempt + 1)))


def lose(run: StepRun, dead_before, *, now, error: str, line: str, actor=None, reason="") -> bool:
    """running -> lost, with its audit event, its last log line and its notification in one
    transaction: a kill or a hang in the middle of a step leaves a complete trail."""
    with transaction.atomic():
        if not lose_run(
            run,
            dead_before,
            now=now,
            error=error,
            summary="Exécution perdue : le worker ne répond plus. Relancez l'étape.",
        ):
            return False
        audit.record(
            "run.lost",
            category=AuditCategory.JOB,
            actor=actor,
            actor_name=None if actor else "reaper",
            job=run.step.job,
            target=run.step.key,
            reason=reason,
            data={
                "run": run.pk,
                "worker": run.worker,
                "heartbeat_at": run.heartbeat_at.isoformat() if run.heartbeat_at else None,
                "progress_at": run.progress_at.isoformat() if run.progress_at else None,
                "done_units": run.done_units,
                "done_bytes": run.done_bytes,
            },
        )
        LogLine.objects.create(
            run=run, seq=run.last_seq + 1, ts=now, level=LogLevel.ERROR, text=line
        )
        StepRun.objects.filter(pk=run.pk).update(last_seq=F("last_seq") + 1)
        notifications.after_run(run, RunStatus.LOST)
    return True


def reap(now=None) -> dict:
    """Mark running runs with a dead heartbeat `lost`; return queued runs to re-send."""
    now = now or timezone.now()
    dead_before = now - timedelta(seconds=settings.JULIEOPS_HEARTBEAT_TIMEOUT)
    lost = []
    running = StepRun.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=dead_before)
    for run in running.select_related("step__job"):
        since = f"{timezone.localtime(run.heartbeat_at):%H:%M:%S}"
        if lose(
            run,
            dead_before,
            now=now,
            error=f"Plus de signal du worker {run.worker} depuis {since}.",
            line=f"Exécution perdue : plus de signal du worker {run.worker} depuis {since}. "
            "Relancez l'étape.",
        ):
            lost.append(run.pk)
    stale_before = now - timedelta(seconds=settings.JULIEOPS_QUEUED_RESEND_AFTER)
    resend = list(
        StepRun.objects.filter(status=RunStatus.QUEUED, queued_at__lt=stale_before).values_list(
            "pk", "queue"
        )
    )
    if resend:
        StepRun.objects.filter(pk__in=[pk for pk, _ in resend]).update(queued_at=now)
    return {"lost": lost, "resend": resend}
