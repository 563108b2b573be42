"""Every status transition of runs, steps and jobs, in one place: nothing else writes a
`status` field. Run transitions are conditional UPDATEs (of two concurrent callers, one sees the
transition) and return whether they happened; a step follows its latest real run; a job's
status is derived from its steps.

Callers hold their own transaction and locks (actions lock the step row); these functions only
say which transitions exist and what each one writes."""

from django.db.models import F
from django.utils import timezone

from migrations_app import audit, notifications
from migrations_app.choices import AuditCategory, JobStatus, RunStatus, StepStatus
from migrations_app.models import JobStep, MigrationJob, StepRun

RUN_TO_STEP_STATUS = {
    RunStatus.QUEUED: StepStatus.QUEUED,
    RunStatus.RUNNING: StepStatus.RUNNING,
    RunStatus.PASSED: StepStatus.PASSED,
    RunStatus.WARNING: StepStatus.WARNING,
    RunStatus.FAILED: StepStatus.FAILED,
    RunStatus.CANCELLED: StepStatus.TODO,
    RunStatus.LOST: StepStatus.FAILED,
}


# -- runs ---------------------------------------------------------------------------------------


def claim(run_id: int, worker: str) -> bool:
    """queued -> running, by the worker that executes it; its step runs too (not a dry run)."""
    now = timezone.now()
    claimed = StepRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now, heartbeat_at=now, worker=worker
    )
    params = StepRun.objects.filter(pk=run_id).values_list("params", flat=True).first() or {}
    if claimed and not params.get("dry_run"):
        JobStep.objects.filter(runs__pk=run_id).update(status=StepStatus.RUNNING)
    return bool(claimed)


def end_run(run: StepRun, status: str, *, summary: str, result: dict, error: str) -> bool:
    """running (or lost, if the worker was only slow) -> its outcome; the step follows."""
    done = {}
    if status in (RunStatus.PASSED, RunStatus.WARNING):
        # The last progress callback may have come before the last unit of work.
        done = {"done_units": F("total_units"), "done_bytes": F("total_bytes")}
    now = timezone.now()
    updated = StepRun.objects.filter(
        pk=run.pk, status__in=[RunStatus.RUNNING, RunStatus.LOST]
    ).update(
        **done,
        eta_seconds=None,
        status=status,
        finished_at=now,
        heartbeat_at=now,
        summary=summary[:10000],
        result=result,
        error=error[:10000],
    )
    if updated:
        sync_step_status(run.step_id, run.pk, summary=summary, result=result)
    return bool(updated)


def lose_run(run: StepRun, dead_before, *, now, error: str, summary: str) -> bool:
    """running -> lost, when its heartbeat stopped before `dead_before` (the reaper)."""
    updated = StepRun.objects.filter(
        pk=run.pk, status=RunStatus.RUNNING, heartbeat_at__lt=dead_before
    ).update(status=RunStatus.LOST, finished_at=now, error=error, summary=summary)
    if updated:
        sync_step_status(run.step_id, run.pk, summary="Exécution perdue ; à relancer.")
    return bool(updated)


def cancel_queued_run(run: StepRun, summary: str) -> None:
    """queued -> cancelled (the run is locked by the caller)."""
    run.status = RunStatus.CANCELLED
    run.finished_at = timezone.now()
    run.summary = summary
    run.save(update_fields=["status", "finished_at", "summary"])
    sync_step_status(run.step_id, run.pk, summary=run.summary)


# -- steps --------------------------------------------------------------------------------------


def queue_step(step: JobStep) -> None:
    """A real run was created for the step (the step is locked by the caller)."""
    step.status = StepStatus.QUEUED
    step.save(update_fields=["status", "updated_at"])


def finish_step_by_hand(step: JobStep, user, status: str, note: str) -> None:
    """todo/failed/... -> done or skipped by a person: who, when and why."""
    step.status = status
    step.done_by, step.done_at, step.note = user, timezone.now(), note
    step.save(update_fields=["status", "done_by", "done_at", "note", "updated_at"])
    if status == StepStatus.DONE:
        restart_after(step, actor=user)


def restart_after(step: JobStep, *, actor=None) -> list[str]:
    """`step` just succeeded (run or ticked); when its definition names steps it `restarts`
    (a new freeze, an unfreeze: the cut-over starts again), those that had succeeded before
    no longer count: back to to-do, saying why, audited (their runs and evidence are kept).
    A skip (a person's decision with its reason) is left alone. Returns the keys reset."""
    from migrations_app.steps.registry import REGISTRY

    definition = REGISTRY.get(step.key)
    keys = tuple(getattr(definition, "restarts", ()) or ())
    if not keys:
        return []
    done = (StepStatus.PASSED, StepStatus.WARNING, StepStatus.DONE)
    stale = JobStep.objects.filter(job_id=step.job_id, key__in=keys, status__in=done)
    reset = sorted(stale.values_list("key", flat=True), key=keys.index)
    if not reset:
        return []
    title = str(definition.title)
    stale.update(
        status=StepStatus.TODO,
        summary=f"Ne compte plus : « {title} » fait le {timezone.localtime():%d/%m/%Y à %H:%M} "
        "après cette étape (la bascule reprend) ; à refaire après le gel en vigueur.",
        updated_at=timezone.now(),
    )
    audit.record(
        "cutover.restarted",
        category=AuditCategory.DATA,
        actor=actor,
        job=step.job,
        target=step.key,
        data={"reset": reset},
    )
    return reset


def reopen_step(step: JobStep) -> None:
    """done/skipped -> todo (the history keeps both)."""
    step.status = StepStatus.TODO
    step.save(update_fields=["status", "updated_at"])


def sync_step_status(step_id: int, run_id: int, *, summary: str = "", result=None) -> None:
    """A step mirrors its latest real run (a dry run changes nothing, its status neither),
    unless a newer run was created meanwhile; then its job is refreshed."""
    runs = StepRun.objects.filter(step_id=step_id).order_by("-pk").values("pk", "status", "params")
    # In Python: a JSON key lookup treats a missing key differently on each database.
    latest = next((r for r in runs.iterator() if not (r["params"] or {}).get("dry_run")), None)
    if latest and latest["pk"] == run_id:
        fields = {"status": RUN_TO_STEP_STATUS[RunStatus(latest["status"])]}
        if fields["status"] in (StepStatus.PASSED, StepStatus.WARNING) and (result or {}).get(
            "pre_copy"
        ):
            # A pre-copy (data.mirror before the freeze) did its work but is not the step's
            # final pass: the step stays to do, and the steps after it stay closed.
            fields["status"] = StepStatus.TODO
        if summary:
            fields["summary"] = summary
        if result is not None:
            fields["result"] = result
        JobStep.objects.filter(pk=step_id).update(**fields)
        step = JobStep.objects.select_related("job").get(pk=step_id)
        if fields["status"] in (StepStatus.PASSED, StepStatus.WARNING):
            run = StepRun.objects.select_related("requested_by").get(pk=run_id)
            restart_after(step, actor=run.requested_by)
        refresh_job(step.job)


# -- jobs ---------------------------------------------------------------------------------------


def refresh_job(job: MigrationJob) -> str:
    """Derive the job's status from its steps (a cancelled job stays cancelled)."""
    if job.status == JobStatus.CANCELLED:
        return job.status
    statuses = set(job.steps.values_list("status", flat=True))
    if statuses and statuses <= StepStatus.finished():
        status = JobStatus.DONE
    elif StepStatus.FAILED in statuses:
        status = JobStatus.BLOCKED
    elif statuses - {StepStatus.TODO}:
        status = JobStatus.IN_PROGRESS
    else:
        status = JobStatus.DRAFT
    if status != job.status:
        # Conditional: of two concurrent refreshes, only one sees the transition.
        changed = (
            MigrationJob.objects.filter(pk=job.pk)
            .exclude(status__in=[status, JobStatus.CANCELLED])
            .update(status=status)
        )
        job.status = status
        if changed and status == JobStatus.DONE:
            notifications.notify("job_finished", job)
    return status
