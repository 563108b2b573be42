"""Executes one StepRun: claim it, build its context, run the step, record the outcome.

Exactly-once: a run is claimed with a conditional UPDATE (queued -> running); a second
delivery of the same message finds nothing to claim. While the step runs, a flusher thread
writes the buffered log lines (gap-free `seq`), the progress and a heartbeat, and notices a
cancel request. A run whose heartbeat stops is marked `lost` by the reaper (tasks.reap_runs).
"""

import hashlib
import logging
import os
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import F, Max
from django.utils import timezone

from migrations_app import audit, notifications
from migrations_app.choices import AuditCategory, LogLevel, RunStatus, StepStatus
from migrations_app.models import Evidence, JobStep, LogLine, StepRun
from migrations_app.steps.registry import REGISTRY, Outcome, StepError

logger = logging.getLogger(__name__)

RUN_TO_STEP_STATUS = {
    RunStatus.QUEUED: StepStatus.QUEUED,
    RunStatus.RUNNING: StepStatus.RUNNING,
    RunStatus.PASSED: StepStatus.PASSED,
    RunStatus.WARNING: StepStatus.WARNING,
    RunStatus.FAILED: StepStatus.FAILED,
    RunStatus.CANCELLED: StepStatus.TODO,
    RunStatus.LOST: StepStatus.FAILED,
}


class Cancelled(Exception):
    """Raised inside a step at its next check once a cancel was requested."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class StepLogger:
    """Buffers log lines; the flusher writes them in batches with a gap-free per-run seq."""

    def __init__(self, run: StepRun):
        self.run_id = run.pk
        self._seq = run.last_seq
        self._pending: list[LogLine] = []
        self._lock = threading.Lock()
        self._full = threading.Event()
        self.secrets: set[str] = set()

    def write(self, level: str, text: str) -> None:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        now = timezone.now()
        with self._lock:
            for line in str(text).splitlines() or [""]:
                self._seq += 1
                self._pending.append(
                    LogLine(run_id=self.run_id, seq=self._seq, ts=now, level=level, text=line)
                )
            if len(self._pending) >= settings.JULIEOPS_LOG_FLUSH_LINES:
                self._full.set()

    def info(self, text: str) -> None:
        self.write(LogLevel.INFO, text)

    def warning(self, text: str) -> None:
        self.write(LogLevel.WARNING, text)

    def error(self, text: str) -> None:
        self.write(LogLevel.ERROR, text)

    def debug(self, text: str) -> None:
        self.write(LogLevel.DEBUG, text)

    def flush(self) -> int:
        """Write pending lines; on a database error they stay pending for the next try."""
        with self._lock:
            batch, self._pending = self._pending, []
            self._full.clear()
        if not batch:
            return 0
        try:
            self._write(batch)
        except IntegrityError:
            # Someone else (the reaper) wrote a line meanwhile: continue after it.
            self._renumber(batch)
            self._write(batch)
        except Exception:
            with self._lock:
                self._pending[:0] = batch
            raise
        return len(batch)

    def _write(self, batch: list[LogLine]) -> None:
        with transaction.atomic():
            LogLine.objects.bulk_create(batch, batch_size=1000)
            StepRun.objects.filter(pk=self.run_id).update(last_seq=batch[-1].seq)

    def _renumber(self, batch: list[LogLine]) -> None:
        last = LogLine.objects.filter(run_id=self.run_id).aggregate(m=Max("seq"))["m"] or 0
        with self._lock:
            for offset, line in enumerate(batch + self._pending, start=1):
                line.seq = last + offset
            self._seq = last + len(batch) + len(self._pending)


class Progress:
    def __init__(self):
        self.values: dict = {}
        self.started = time.monotonic()
        self.dirty = False
        self.lock = threading.Lock()

    def update(self, *, done=None, total=None, done_bytes=None, total_bytes=None, label=None):
        with self.lock:
            for key, value in (
                ("done_units", done),
                ("total_units", total),
                ("done_bytes", done_bytes),
                ("total_bytes", total_bytes),
                ("progress_label", label),
            ):
                if value is not None:
                    self.values[key] = value[:500] if isinstance(value, str) else value
            self.values["eta_seconds"] = self._eta()
            self.dirty = True

    def _eta(self) -> int | None:
        elapsed = time.monotonic() - self.started
        for done_key, total_key in (("done_bytes", "total_bytes"), ("done_units", "total_units")):
            done, total = self.values.get(done_key), self.values.get(total_key)
            if done and total and elapsed > 1:
                return max(0, int((total - done) * elapsed / done))
        return None

    def take(self) -> dict:
        with self.lock:
            if not self.dirty:
                return {}
            self.dirty = False
            return dict(self.values)


class Flusher(threading.Thread):
    """Writes logs every 250 ms (or at 500 lines), progress and heartbeat, reads cancel."""

    def __init__(self, run: StepRun, log: StepLogger, progress: Progress):
        super().__init__(name=f"flusher-run-{run.pk}", daemon=True)
        self.run_id = run.pk
        self.log = log
        self.progress = progress
        self.stop_event = threading.Event()
        self.cancel_event = threading.Event()

    def run(self):
        last_beat = 0.0
        try:
            while not self.stop_event.is_set():
                self.log._full.wait(settings.JULIEOPS_LOG_FLUSH_SECONDS)
                beat = time.monotonic() - last_beat >= settings.JULIEOPS_HEARTBEAT_INTERVAL
                self._tick(force_beat=beat)
                if beat:
                    last_beat = time.monotonic()
        finally:
            connection.close()

    def _tick(self, force_beat: bool) -> None:
        try:
            self.log.flush()
            fields = self.progress.take()
            if force_beat or fields:
                fields["heartbeat_at"] = timezone.now()
                StepRun.objects.filter(pk=self.run_id).update(**fields)
            if (
                force_beat
                and StepRun.objects.filter(pk=self.run_id, cancel_requested=True).exists()
            ):
                self.cancel_event.set()
        except Exception:
            logger.exception("run %s: flush failed, will retry", self.run_id)
            close_old_connections()

    def stop(self) -> None:
        self.stop_event.set()
        self.log._full.set()
        self.join(timeout=30)


class RunContext:
    """What a step's run() receives."""

    def __init__(self, run: StepRun, log: StepLogger, progress: Progress, flusher: Flusher):
        self.run = run
        self.step = run.step
        self.job = run.step.job
        self.log = log
        self._progress = progress
        self._flusher = flusher

    # Machines of the job.
    @property
    def source(self):
        return self.job.source

    @property
    def target(self):
        return self.job.target

    @property
    def clients(self):
        return list(self.job.clients.all())

    def progress(self, **values) -> None:
        self._progress.update(**values)

    @property
    def cancelled(self) -> bool:
        return self._flusher.cancel_event.is_set()

    def check_cancel(self) -> None:
        if self.cancelled:
            raise Cancelled()

    def add_secret(self, secret: str) -> None:
        """Mask this value in every log line of the run."""
        if secret:
            self.log.secrets.add(secret)

    def evidence(self, name: str, content: bytes, kind: str = "") -> Evidence:
        digest = hashlib.sha256(content).hexdigest()
        item = Evidence(job=self.job, run=self.run, name=name, kind=kind, size=len(content))
        item.sha256 = digest
        item.file.save(Path(name).name, ContentFile(content), save=False)
        item.save()
        return item

    def audit(self, action: str, category: str, *, data: dict | None = None, reason: str = ""):
        return audit.record(
            action,
            category=category,
            actor=self.run.requested_by,
            job=self.job,
            target=self.step.key,
            reason=reason,
            data={"run": self.run.pk, **(data or {})},
        )


def claim(run_id: int, worker: str) -> bool:
    now = timezone.now()
    claimed = StepRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now, heartbeat_at=now, worker=worker
    )
    params = StepRun.objects.filter(pk=run_id).values_list("params", flat=True).first() or {}
    if claimed and not params.get("dry_run"):
        JobStep.objects.filter(runs__pk=run_id).update(status=StepStatus.RUNNING)
    return bool(claimed)


def execute(run_id: int, worker: str | None = None) -> str | None:
    """Run a queued StepRun to its end. Returns its final status, or None if not claimed."""
    worker = worker or worker_name()
    if not claim(run_id, worker):
        logger.info("run %s: nothing to claim (already taken or cancelled)", run_id)
        return None
    run = StepRun.objects.select_related("step__job__source", "step__job__target").get(pk=run_id)
    log, progress = StepLogger(run), Progress()
    flusher = Flusher(run, log, progress)
    flusher.start()
    ctx = RunContext(run, log, progress, flusher)
    release_idle_connection()
    definition = REGISTRY.get(run.step.key)
    status, summary, result, error = RunStatus.FAILED, "", {}, ""
    try:
        if definition is None or not definition.is_automated():
            raise StepError(f"L'étape {run.step.key} n'est pas encore automatisée.")
        log.info(f"Début de « {definition.title} » (tentative {run.attempt}) sur {worker}")
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
    except StepError as exc:
        summary = error = str(exc)
        log.error(f"Échec : {exc}")
    except Exception as exc:  # a bug or an unexpected failure: visible, never silent
        logger.exception("run %s failed", run_id)
        summary = "Erreur inattendue ; voir le journal."
        error = f"{type(exc).__name__}: {exc}"
        log.error(f"Erreur inattendue : {error}")
    finally:
        flusher.stop()
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
                done = {}
                if status in (RunStatus.PASSED, RunStatus.WARNING):
                    # The last progress callback may have come before the last unit of work.
                    done = {"done_units": F("total_units"), "done_bytes": F("total_bytes")}
                updated = StepRun.objects.filter(
                    pk=run.pk, status__in=[RunStatus.RUNNING, RunStatus.LOST]
                ).update(
                    **done,
                    eta_seconds=None,
                    status=status,
                    finished_at=timezone.now(),
                    heartbeat_at=timezone.now(),
                    summary=summary[:10000],
                    result=result or {},
                    error=error[:10000],
                )
                if updated:
                    sync_step_status(run.step_id, run.pk, summary=summary, result=result or {})
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


def sync_step_status(step_id: int, run_id: int, *, summary: str = "", result=None) -> None:
    """A step mirrors its latest real run (a dry run changes nothing, its status neither),
    unless a newer run was created meanwhile."""
    runs = StepRun.objects.filter(step_id=step_id).order_by("-pk").values("pk", "status", "params")
    # In Python: a JSON key lookup treats a missing key differently on each database.
    latest = next((r for r in runs.iterator() if not (r["params"] or {}).get("dry_run")), None)
    if latest and latest["pk"] == run_id:
        fields = {"status": RUN_TO_STEP_STATUS[RunStatus(latest["status"])]}
        if summary:
            fields["summary"] = summary
        if result is not None:
            fields["result"] = result
        JobStep.objects.filter(pk=step_id).update(**fields)
        JobStep.objects.select_related("job").get(pk=step_id).job.refresh_status()


def reap(now=None) -> dict:
    """Mark running runs with a dead heartbeat `lost`; return queued runs to re-send."""
    now = now or timezone.now()
    dead_before = now - timedelta(seconds=settings.JULIEOPS_HEARTBEAT_TIMEOUT)
    lost = []
    for run in StepRun.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=dead_before):
        updated = StepRun.objects.filter(
            pk=run.pk, status=RunStatus.RUNNING, heartbeat_at__lt=dead_before
        ).update(
            status=RunStatus.LOST,
            finished_at=now,
            error=f"Plus de signal du worker {run.worker} depuis {run.heartbeat_at:%H:%M:%S}.",
            summary="Exécution perdue : le worker ne répond plus. Relancez l'étape.",
        )
        if updated:
            LogLine.objects.create(
                run=run,
                seq=run.last_seq + 1,
                ts=now,
                level=LogLevel.ERROR,
                text=f"Exécution perdue : plus de signal du worker {run.worker} "
                f"depuis {timezone.localtime(run.heartbeat_at):%H:%M:%S}. Relancez l'étape.",
            )
            StepRun.objects.filter(pk=run.pk).update(last_seq=F("last_seq") + 1)
            sync_step_status(run.step_id, run.pk, summary="Exécution perdue ; à relancer.")
            notifications.after_run(run, RunStatus.LOST)
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
