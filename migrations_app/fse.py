"""FSE (pxdatas) decisions and the FSE timeline of a job, for CPAM disputes.

The pxdatas decision lives in `job.options["pxdatas_decision"]`: a technician (or supervisor)
asks for a purge or for keeping extra files, with a written reason; a supervisor approves it
through `actions.approve_step` (the approval covers exactly that decision); `data.pxdatas`
then applies it once. Without a decision, `data.pxdatas` only proves equality.
"""

import csv
import hashlib
import io
import json

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from migrations_app import audit
from migrations_app.actions import ActionRefused
from migrations_app.choices import AuditCategory, StepStatus
from migrations_app.models import AuditEvent, Evidence, JobStep, MigrationJob

DECISION_KEY = "pxdatas_decision"
PURGE, KEEP_EXTRAS, WITHDRAW = "purge", "keep_extras", "withdraw"
DECISIONS = {
    PURGE: "vider pxdatas sur le nouveau serveur",
    KEEP_EXTRAS: "garder les fichiers en trop sur le nouveau serveur",
}


def pending_decision(job: MigrationJob) -> dict | None:
    """The decision not applied yet, or None."""
    decision = job.options.get(DECISION_KEY)
    if decision and not decision.get("executed_run"):
        return decision
    return None


def request_decision(step: JobStep, user, decision: str, reason: str) -> dict | None:
    """Record (or withdraw) a purge / keep-extras decision on data.pxdatas. Any earlier
    approval is cleared: a supervisor must approve this decision itself."""
    reason = (reason or "").strip()
    if not user.has_perm("migrations_app.run_step"):
        raise ActionRefused(_("You may not change this job."), 403)
    if decision not in (*DECISIONS, WITHDRAW):
        raise ActionRefused(_("Unknown decision."), 400)
    if not reason:
        raise ActionRefused(_("A written reason is required."), 400)
    with transaction.atomic():
        step = JobStep.objects.select_for_update().get(pk=step.pk)
        if step.key != "data.pxdatas":
            raise ActionRefused(_("Decisions apply to the pxdatas step only."), 400)
        if step.status in StepStatus.active():
            raise ActionRefused(_("This step is running; cancel it first."))
        job = MigrationJob.objects.select_for_update().get(pk=step.job_id)
        last = step.result or {}
        record = None
        if decision == WITHDRAW:
            if DECISION_KEY not in job.options:
                raise ActionRefused(_("There is no decision to withdraw."), 400)
            job.options.pop(DECISION_KEY)
        else:
            extras = last.get("extras") or []
            if decision == KEEP_EXTRAS and not extras:
                raise ActionRefused(
                    _("The last verification found no extra file: run the step first."), 409
                )
            record = {
                "decision": decision,
                "label": DECISIONS[decision],
                "reason": reason,
                "requested_by": user.get_username(),
                "requested_at": timezone.now().isoformat(),
                # What the requester saw: the approval covers these files, nothing more.
                "extras": [{"path": e["path"], "sha256": e["sha256"]} for e in extras]
                if decision == KEEP_EXTRAS
                else [],
                "target_manifest_sha256": last.get("target_manifest_sha256"),
            }
            job.options[DECISION_KEY] = record
        job.save(update_fields=["options", "updated_at"])
        step.approved_by, step.approved_at, step.approval_reason = None, None, ""
        step.save(update_fields=["approved_by", "approved_at", "approval_reason", "updated_at"])
        audit.record(
            "fse.decision.withdraw" if decision == WITHDRAW else "fse.decision.request",
            category=AuditCategory.FSE,
            actor=user,
            job=job,
            target=step.key,
            reason=reason,
            data={"decision": record},
        )
        if record is not None:
            from migrations_app.notifications import announce_if_awaited

            step.job = job
            announce_if_awaited(step)
    return record


# ---------------------------------------------------------------- timeline and export


def evidence_ids(event: AuditEvent) -> list[int]:
    refs = (event.data or {}).get("evidence") or []
    if isinstance(refs, dict):
        refs = [refs]
    return [r["id"] for r in refs if isinstance(r, dict) and isinstance(r.get("id"), int)]


def timeline(job: MigrationJob) -> list[dict]:
    """The FSE events of a job in order, each with its evidence (manifests)."""
    events = list(AuditEvent.objects.filter(job=job, category=AuditCategory.FSE).order_by("id"))
    ids = {i for e in events for i in evidence_ids(e)}
    evidence = {e.pk: e for e in Evidence.objects.filter(pk__in=ids, job=job)}
    return [
        {"event": e, "evidence": [evidence[i] for i in evidence_ids(e) if i in evidence]}
        for e in events
    ]


def read_manifest(evidence: Evidence) -> dict | None:
    """A manifest evidence parsed, with `verified` telling whether its bytes still match the
    SHA-256 recorded when it was stored."""

    try:
        with evidence.file.open("rb") as f:
            content = f.read()
    except OSError:
        return None
    try:
        document = json.loads(content)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    document["verified"] = hashlib.sha256(content).hexdigest() == evidence.sha256
    return document


CSV_HEADER = [
    "customer",
    "job_id",
    "job",
    "event_id",
    "when",
    "who",
    "action",
    "step",
    "reason",
    "decision",
    "files",
    "manifest_sha256",
    "evidence",
    "event_hash",
]


def timeline_csv(jobs) -> str:
    """One line per FSE event of the given jobs, then one line per manifest entry (who, why,
    which file with its hash), so the spreadsheet alone answers a CPAM dispute."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(CSV_HEADER)
    files_rows = []
    for job in jobs:
        for row in timeline(job):
            e = row["event"]
            data = e.data or {}
            decision = data.get("decision") or {}
            writer.writerow(
                [
                    job.customer.name,
                    job.pk,
                    str(job),
                    e.pk,
                    e.created_at.isoformat(),
                    e.actor_name,
                    e.action,
                    e.target,
                    e.reason,
                    decision.get("decision", "") if isinstance(decision, dict) else "",
                    data.get("files", ""),
                    data.get("manifest_sha256", ""),
                    " ".join(f"{ev.name}:{ev.sha256}" for ev in row["evidence"]),
                    e.hash,
                ]
            )
            for ev in row["evidence"]:
                document = read_manifest(ev)
                for entry in (document or {}).get("manifest", []):
                    files_rows.append(
                        [
                            job.pk,
                            e.pk,
                            ev.name,
                            entry.get("path"),
                            entry.get("size"),
                            entry.get("mtime"),
                            entry.get("sha256"),
                        ]  # fmt: skip
                    )
    writer.writerow([])
    writer.writerow(["job_id", "event_id", "manifest", "path", "size", "mtime", "sha256"])
    writer.writerows(files_rows)
    return out.getvalue()
