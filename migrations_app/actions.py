"""What a person can do to a job's steps. Each action checks its preconditions, changes
state in one transaction, writes an audit event, and enqueues work only after commit.

The procedure's order (STEPS.md, « Order ») is checked here: a step runs or is ticked only when
every step of its `depends_on` is passed, warned, ticked or skipped (a skip always carries its
reason); otherwise 409 with the French list of what is missing, unless a supervisor writes a
derogation (audited as `step.derogation`, listed on the job page and in the sign-off report).
Simulations and skips are not gated. Approvals follow four eyes: the person who asked for what
awaits approval (`Step.approval_requester`) cannot approve it.

Views call these and turn ActionRefused into a 4xx with its French message."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from migrations_app import audit, notifications, status
from migrations_app.choices import AuditCategory, RunStatus, SourceKind, StepKind, StepStatus
from migrations_app.models import (
    TRAINING_MIX,
    AuditEvent,
    JobStep,
    MigrationJob,
    StepRun,
    training_mix,
)


class ActionRefused(Exception):
    """The action is not allowed now; the message says why, in the user's language."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.status = status


def _lock_step(step: JobStep) -> JobStep:
    return JobStep.objects.select_for_update().select_related("job__site").get(pk=step.pk)


# A step it depends on counts as done in these states (skipped always carries its reason).
DEPENDENCY_MET = (StepStatus.PASSED, StepStatus.WARNING, StepStatus.DONE, StepStatus.SKIPPED)


def missing_dependencies(step: JobStep) -> list[dict]:
    """The steps `step` depends on (catalogue `depends_on`) that are not passed, warned,
    ticked or skipped on its job: key, title and status, in the catalogue's order."""
    from migrations_app.steps.registry import REGISTRY

    wanted = tuple(step.definition.depends_on)
    if not wanted:
        return []
    found = dict(step.job.steps.filter(key__in=wanted).values_list("key", "status"))
    missing = []
    for key in wanted:
        status_ = found.get(key)
        if status_ in DEPENDENCY_MET:
            continue
        definition = REGISTRY.get(key)
        missing.append(
            {
                "key": key,
                "title": str(definition.title) if definition else key,
                "status": status_ or "absent",
                "status_label": str(StepStatus(status_).label) if status_ else _("not in this job"),
            }
        )
    return missing


def missing_text(missing: list[dict]) -> str:
    """The French list of what is missing, for a 409 and for the step panel."""
    listed = " ; ".join(f"« {m['title']} » ({m['status_label']})" for m in missing)
    return _("Complete these steps first: %(steps)s.") % {"steps": listed}


def _check_order(step: JobStep, user, derogation: str, action: str) -> None:
    """Refuse (409) while a step `step` depends on is not done, unless a supervisor writes a
    derogation: audited with what was missing, shown on the job page and in the report."""
    missing = missing_dependencies(step)
    if not missing:
        return
    derogation = (derogation or "").strip()
    if not derogation:
        raise ActionRefused(missing_text(missing), 409)
    if not user.has_perm("migrations_app.approve_step"):
        raise ActionRefused(_("Only a supervisor can override the order of the steps."), 403)
    audit.record(
        "step.derogation",
        category=_category(step),
        actor=user,
        job=step.job,
        target=step.key,
        reason=derogation,
        data={"action": action, "missing": [{k: m[k] for k in ("key", "status")} for m in missing]},
    )


def start_run(
    step: JobStep,
    user,
    *,
    reason: str = "",
    params: dict | None = None,
    derogation: str = "",
    order_checked: bool = False,
) -> StepRun:
    """Run (or retry) an automated step: a new StepRun, enqueued after commit. A simulation
    changes nothing and may run in any order; a real run needs the steps it depends on done
    (or a supervisor's derogation)."""
    from migrations_app.tasks import enqueue

    definition = step.definition
    params = params or {}
    dry_run = bool(params.get("dry_run"))
    if not definition.is_automated():
        raise ActionRefused(_("This step is not automated yet: tick it by hand with a note."))
    if dry_run and not definition.supports_dry_run:
        raise ActionRefused(_("This step has no simulation."), 400)
    with transaction.atomic():
        step = _lock_step(step)
        if StepRun.objects.filter(step=step, status__in=RunStatus.active()).exists():
            raise ActionRefused(_("This step is already queued or running."))
        if not dry_run and not order_checked:
            _check_order(step, user, derogation, "run")
        if not dry_run and definition.needs_approval_for(step) and not step.is_approved:
            raise ActionRefused(_("This step needs a supervisor's approval before it runs."), 403)
        attempt = step.runs.count() + 1
        run = StepRun.objects.create(
            step=step,
            attempt=attempt,
            queue=step.job.site.queue,
            requested_by=user,
            queued_at=timezone.now(),
            params=params,
        )
        if not dry_run:
            status.queue_step(step)
        audit.record(
            "step.simulate" if dry_run else "step.run" if attempt == 1 else "step.retry",
            category=AuditCategory.JOB,
            actor=user,
            job=step.job,
            target=step.key,
            reason=reason,
            data={"run": run.pk, "attempt": attempt, "queue": run.queue, "params": run.params},
        )
        enqueue(run)
        status.refresh_job(step.job)
    return run


def cancel_run(run: StepRun, user, *, reason: str = "") -> StepRun:
    with transaction.atomic():
        run = StepRun.objects.select_for_update().select_related("step__job").get(pk=run.pk)
        if run.status == RunStatus.QUEUED:
            status.cancel_queued_run(run, _("Cancelled before it started."))
        elif run.status == RunStatus.RUNNING:
            run.cancel_requested = True
            run.save(update_fields=["cancel_requested"])
        else:
            raise ActionRefused(_("This run is already over."))
        audit.record(
            "run.cancel",
            category=AuditCategory.JOB,
            actor=user,
            job=run.step.job,
            target=run.step.key,
            reason=reason,
            data={"run": run.pk},
        )
    return run


def mark_lost(run: StepRun, user, *, reason: str) -> StepRun:
    """A supervisor ends a run whose worker still answers but which no longer moves (a
    stalled read) or whose heartbeat stopped: lost, hence retryable, audited with why."""
    from datetime import timedelta

    from django.conf import settings

    from migrations_app.execution.runner import lose

    reason = required_text(reason, _("A note is required to mark a run lost."))
    if not user.has_perm("migrations_app.approve_step"):
        raise ActionRefused(_("Only a supervisor can mark a run lost."), 403)
    run = StepRun.objects.select_related("step__job").get(pk=run.pk)
    dead = (run.signal_age or 0) >= settings.JULIEOPS_HEARTBEAT_TIMEOUT
    if run.status != RunStatus.RUNNING or not (run.stalled or dead):
        raise ActionRefused(
            _("Only a stalled run, or one whose worker is silent, can be marked lost.")
        )
    now = timezone.now()
    who = user.get_username()
    lose(
        run,
        now + timedelta(seconds=1),
        now=now,
        error=f"Marquée perdue par {who} : {reason}"[:1000],
        line=f"Exécution marquée perdue par {who} (plus de progression depuis "
        f"{run.still_for} s) : {reason}. Relancez l'étape.",
        actor=user,
        reason=reason,
    )
    run.refresh_from_db()
    return run


def tick_step(step: JobStep, user, note: str, *, derogation: str = "") -> JobStep:
    """Mark a step done by hand, with a note: once the steps it depends on are done (or a
    supervisor's derogation); an approval step once approved."""
    note = required_text(note, _("A note is required to tick a step by hand."))
    with transaction.atomic():
        step = _lock_step(step)
        if step.status in StepStatus.active():
            raise ActionRefused(_("This step is running; cancel it first."))
        if step.kind == StepKind.APPROVAL and not step.is_approved:
            raise ActionRefused(_("This step needs a supervisor's approval first."), 403)
        _check_order(step, user, derogation, "tick")
        _finish_by_hand(step, user, StepStatus.DONE, "step.tick", note)
    return step


def skip_step(step: JobStep, user, reason: str) -> JobStep:
    reason = required_text(reason, _("A reason is required to skip a step."))
    with transaction.atomic():
        step = _lock_step(step)
        if step.kind == StepKind.APPROVAL:
            raise ActionRefused(_("An approval step cannot be skipped."), 403)
        _finish_by_hand(step, user, StepStatus.SKIPPED, "step.skip", reason)
    return step


def approve_step(step: JobStep, user, reason: str) -> JobStep:
    if not user.has_perm("migrations_app.approve_step"):
        raise ActionRefused(_("Only a supervisor can approve a step."), 403)
    reason = required_text(reason, _("A written reason is required to approve."))
    with transaction.atomic():
        step = _lock_step(step)
        if not step.definition.approvable(step):
            if step.kind == StepKind.APPROVAL and step.is_approved:
                raise ActionRefused(_("This step is already approved."))
            raise ActionRefused(_("This step does not need an approval."), 400)
        if step.definition.approval_requester(step) == user.get_username():
            raise ActionRefused(
                _("Four eyes: the person who asked for this decision cannot approve it."), 403
            )
        step.approved_by, step.approved_at, step.approval_reason = user, timezone.now(), reason
        step.save(update_fields=["approved_by", "approved_at", "approval_reason", "updated_at"])
        _audit_step(step, user, "step.approve", reason, step.definition.approval_data(step))
    return step


def reopen_step(step: JobStep, user, reason: str) -> JobStep:
    """Undo a tick or a skip (the history keeps both)."""
    reason = required_text(reason, _("A reason is required to reopen a step."))
    with transaction.atomic():
        step = _lock_step(step)
        if step.status not in (StepStatus.DONE, StepStatus.SKIPPED):
            raise ActionRefused(_("Only a ticked or skipped step can be reopened."))
        status.reopen_step(step)
        _audit_step(step, user, "step.reopen", reason)
    return step


def derogations(job: MigrationJob) -> list:
    """The job's derogations to the order of the steps (who, when, why, what was missing)."""
    return list(
        AuditEvent.objects.filter(job=job, action="step.derogation")
        .select_related("actor")
        .order_by("id")
    )


def required_text(text: str, message: str) -> str:
    """`text` stripped; 400 with `message` when nothing is left (a reason, a note)."""
    text = (text or "").strip()
    if not text:
        raise ActionRefused(message, 400)
    return text


def decided_by(user, reason: str, when=None) -> dict:
    """Who decided, when and why, as a job keeps it beside what was decided (its options or
    discovered paths); the audit event records the same decision."""
    return {
        "by": user.get_username(),
        "at": (when or timezone.now()).isoformat(),
        "reason": reason,
    }


def _finish_by_hand(step: JobStep, user, outcome: str, action: str, note: str) -> None:
    """Tick or skip (inside the caller's transaction, step locked): who, when and why."""
    if step.status in StepStatus.active():
        raise ActionRefused(_("This step is running; cancel it first."))
    status.finish_step_by_hand(step, user, outcome, note)
    _audit_step(step, user, action, note)
    notifications.approvals_unlocked_by(step)


def _audit_step(step: JobStep, user, action: str, reason: str, data: dict | None = None) -> None:
    audit.record(
        action,
        category=_category(step),
        actor=user,
        job=step.job,
        target=step.key,
        reason=reason,
        data=data,
    )
    status.refresh_job(step.job)


def _category(step: JobStep) -> str:
    if step.key in ("source.pxdatas_snapshot", "data.pxdatas"):
        return AuditCategory.FSE
    if step.key == "data.services":
        return AuditCategory.SMS
    if step.key.startswith("data."):
        return AuditCategory.DATA
    return AuditCategory.JOB


def verify_phase(job: MigrationJob, phase: int, user) -> tuple[list[StepRun], list[str]]:
    """Run the phase's checks, and the simulation of the steps that have one, so the
    technician sees what would change before committing. Returns (runs, refusals)."""
    runs, refused = [], []
    steps = list(job.steps.filter(phase=phase).order_by("order"))
    # The order is judged as the phase stood before this verification re-queues its checks.
    missing = {step.pk: missing_dependencies(step) for step in steps}
    for step in steps:
        definition = step.definition
        if definition.kind == StepKind.CHECK and definition.is_automated():
            params = {}
        elif definition.supports_dry_run:
            params = {"dry_run": True}
        else:
            continue
        if missing[step.pk] and not params.get("dry_run"):
            refused.append(f"{definition.title} : {missing_text(missing[step.pk])}")
            continue
        try:
            runs.append(
                start_run(
                    step, user, reason=_("phase verification"), params=params, order_checked=True
                )
            )
        except ActionRefused as exc:
            refused.append(f"{definition.title} : {exc}")
    audit.record(
        "phase.verify",
        category=AuditCategory.JOB,
        actor=user,
        job=job,
        target=f"phase {phase}",
        data={"runs": [run.pk for run in runs], "refused": refused},
    )
    return runs, refused


UNFREEZE, RETIRE_OLD = "cutover.unfreeze", "cutover.retire_old"


def start_tool(
    job: MigrationJob, key: str, user, *, reason: str = "", derogation: str = ""
) -> StepRun:
    """Run a cut-over tool (freeze, unfreeze). A tool outside the catalogue (unfreeze) has its
    JobStep added to the job's checklist the first time. Unfreezing is a supervisor's decision
    with a written reason, refused once the old hosts are retired (their services disabled)."""
    from migrations_app.steps.registry import REGISTRY

    definition = REGISTRY.get(key)
    if definition is None:
        raise ActionRefused(_("Unknown action."), 400)
    if key == UNFREEZE:
        if not user.has_perm("migrations_app.approve_step"):
            raise ActionRefused(_("Only a supervisor can unfreeze the old server."), 403)
        reason = required_text(reason, _("A written reason is required to unfreeze."))
        retire = job.steps.filter(key=RETIRE_OLD).first()
        if retire is not None and (
            retire.status == StepStatus.DONE
            or any(not (r.params or {}).get("dry_run") for r in retire.runs.all())
        ):
            raise ActionRefused(
                _(
                    "The old hosts are retired (their Julie services disabled): unfreezing is refused."
                )
            )
    step, _created = JobStep.objects.get_or_create(
        job=job,
        key=key,
        defaults={"phase": definition.phase, "order": definition.order, "kind": definition.kind},
    )
    return start_run(step, user, reason=reason, derogation=derogation)


def set_source_kind(job: MigrationJob, user, kind: str, reason: str) -> MigrationJob:
    """Record what the job copies from (live old server, mirror or incremental backup), with a
    written reason, as an FSE audit event. Saying that an incremental backup is in fact a
    mirror backup lifts data.pxdatas's purge requirement: a supervisor's statement."""
    if not user.has_perm("migrations_app.change_migrationjob"):
        raise ActionRefused(_("You may not change this job."), 403)
    if kind not in SourceKind.values:
        raise ActionRefused(_("Unknown source kind."), 400)
    reason = required_text(reason, _("A written reason is required."))
    with transaction.atomic():
        job = MigrationJob.objects.select_for_update().get(pk=job.pk)
        before = job.source_kind
        if kind == before:
            raise ActionRefused(_("The job already records this source."), 409)
        if (
            before == SourceKind.INCREMENTAL_BACKUP
            and kind == SourceKind.MIRROR_BACKUP
            and not user.has_perm("migrations_app.approve_step")
        ):
            raise ActionRefused(
                _("Only a supervisor can state that an incremental backup is a mirror backup."),
                403,
            )
        job.source_kind = kind
        job.save(update_fields=["source_kind", "updated_at"])
        audit.record(
            "job.source_kind",
            category=AuditCategory.FSE,
            actor=user,
            job=job,
            target=str(job),
            reason=reason,
            data={"before": before, "after": kind},
        )
    return job


def create_job(user, **fields) -> MigrationJob:
    clients = fields.pop("clients", [])
    if training_mix([fields.get("source"), fields.get("target"), *clients]):
        raise ActionRefused(str(TRAINING_MIX), status=400)
    with transaction.atomic():
        job = MigrationJob(created_by=user, **fields)
        job.full_clean()
        job.save()
        job.clients.set(clients)
        job.build_checklist()
        audit.record(
            "job.create",
            category=AuditCategory.JOB,
            actor=user,
            job=job,
            target=str(job),
            data={
                "source": job.source.hostname,
                "target": job.target.hostname,
                "source_kind": job.source_kind,
            },
        )
    return job
