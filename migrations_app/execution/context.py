"""What a step's run() receives: the job and its machines, the log, progress, evidence, audit."""

import hashlib
import logging
import time
from pathlib import Path

from django.core.files.base import ContentFile
from django.db import close_old_connections

from migrations_app import audit
from migrations_app.execution.logbook import Flusher, Progress, StepLogger
from migrations_app.models import Evidence, StepRun

logger = logging.getLogger(__name__)

DB_ATTEMPTS = 30  # about 2 min 20 s of waits: a database restart, not an outage


def with_db_retry(action, what: str, attempts: int = DB_ATTEMPTS):
    """Run `action()` (a database write), retried with a growing wait when the database
    refuses it (a restart): the broken connection is dropped and the next try opens a new
    one. What a step records (evidence, audit, outcome) then survives a restart."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Exception:
            if attempt == attempts:
                raise
            logger.warning("%s failed (try %s), retrying", what, attempt, exc_info=attempt == 1)
            close_old_connections()
            time.sleep(min(10, 0.5 * attempt))


class Cancelled(Exception):
    """Raised inside a step at its next check once a cancel was requested."""


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
        with_db_retry(item.save, f"run {self.run.pk}: saving evidence {name}")
        return item

    def audit(self, action: str, category: str, *, data: dict | None = None, reason: str = ""):
        return with_db_retry(
            lambda: audit.record(
                action,
                category=category,
                actor=self.run.requested_by,
                job=self.job,
                target=self.step.key,
                reason=reason,
                data={"run": self.run.pk, **(data or {})},
            ),
            f"run {self.run.pk}: audit {action}",
        )
