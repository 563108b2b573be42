"""A job's history in one list: every run of every step and what people did (tick, skip,
approve, reopen, cancel), newest first. Two queries whatever the size of the job."""

from dataclasses import dataclass
from datetime import datetime

from migrations_app.audit_labels import action_label
from migrations_app.models import AuditEvent, MigrationJob, StepRun
from migrations_app.steps.registry import REGISTRY

# Runs already stand for these events (who asked, which worker, outcome).
RUN_ACTIONS = {"step.run", "step.retry", "step.finished"}


@dataclass
class Entry:
    at: datetime
    kind: str  # "run" | "event"
    step_key: str
    step_title: str
    run: StepRun | None = None
    event: AuditEvent | None = None

    @property
    def action_label(self) -> str:
        return action_label(self.event.action) if self.event else ""


def step_title(key: str) -> str:
    definition = REGISTRY.get(key)
    return str(definition.title) if definition else key


def job_timeline(job: MigrationJob) -> list[Entry]:
    runs = StepRun.objects.filter(step__job=job).select_related("step", "requested_by")
    events = AuditEvent.objects.filter(job=job).exclude(action__in=RUN_ACTIONS)
    entries = [
        Entry(
            at=run.started_at or run.queued_at or run.created_at,
            kind="run",
            step_key=run.step.key,
            step_title=step_title(run.step.key),
            run=run,
        )
        for run in runs
    ]
    entries += [
        Entry(
            at=event.created_at,
            kind="event",
            step_key=event.target if event.target in REGISTRY else "",
            step_title=step_title(event.target) if event.target in REGISTRY else event.target,
            event=event,
        )
        for event in events
    ]
    entries.sort(key=lambda e: (e.at, e.run.pk if e.run else 0), reverse=True)
    return entries
