"""Incidents opened on a job (FSE re-sent, FSE missing, duplicate SMS, missing data, other):
open, link evidence and audit events, add notes, close with a resolution. Each action is an
audit event in the category the incident concerns."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from migrations_app import audit, csvexport
from migrations_app.actions import ActionRefused
from migrations_app.choices import AuditCategory, IncidentKind, IncidentStatus
from migrations_app.models import AuditEvent, Evidence, Incident, IncidentNote

KIND_CATEGORY = {
    IncidentKind.FSE_RESENT: AuditCategory.FSE,
    IncidentKind.FSE_MISSING: AuditCategory.FSE,
    IncidentKind.SMS_DUPLICATE: AuditCategory.SMS,
    IncidentKind.DATA_MISSING: AuditCategory.DATA,
    IncidentKind.OTHER: AuditCategory.JOB,
}


def _require(user, codename: str) -> None:
    if not user.has_perm(f"migrations_app.{codename}"):
        raise ActionRefused(_("You may not change incidents."), 403)


def _record(incident: Incident, user, action: str, *, reason: str = "", data=None) -> None:
    audit.record(
        action,
        category=KIND_CATEGORY.get(incident.kind, AuditCategory.JOB),
        actor=user,
        job=incident.job,
        target=f"incident:{incident.pk}",
        reason=reason,
        data={"incident": incident.pk, "kind": incident.kind, **(data or {})},
    )


def open_incident(job, user, *, kind: str, cpam: str, description: str) -> Incident:
    _require(user, "add_incident")
    description = (description or "").strip()
    if kind not in IncidentKind.values:
        raise ActionRefused(_("Unknown incident kind."), 400)
    if not description:
        raise ActionRefused(_("A description is required."), 400)
    with transaction.atomic():
        incident = Incident.objects.create(
            job=job, kind=kind, cpam=(cpam or "").strip()[:200], description=description,
            opened_by=user,
        )  # fmt: skip
        _record(incident, user, "incident.open", reason=description, data={"cpam": incident.cpam})
    return incident


def add_note(incident: Incident, user, text: str) -> IncidentNote:
    _require(user, "change_incident")
    text = (text or "").strip()
    if not text:
        raise ActionRefused(_("The note is empty."), 400)
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status == IncidentStatus.CLOSED:
            raise ActionRefused(_("This incident is closed: no more notes."), 409)
        note = IncidentNote.objects.create(incident=incident, author=user, text=text)
        _record(incident, user, "incident.note", reason=text, data={"note": note.pk})
    return note


def link(incident: Incident, user, *, evidence_ids=(), event_ids=()) -> None:
    """Link evidence and audit events of the incident's job (nothing from another job)."""
    _require(user, "change_incident")
    evidence_ids, event_ids = set(evidence_ids), set(event_ids)
    if not evidence_ids and not event_ids:
        raise ActionRefused(_("Choose evidence or audit events to link."), 400)
    evidence = list(Evidence.objects.filter(pk__in=evidence_ids, job=incident.job_id))
    events = list(AuditEvent.objects.filter(pk__in=event_ids, job=incident.job_id))
    if len(evidence) != len(evidence_ids) or len(events) != len(event_ids):
        raise ActionRefused(_("Only evidence and events of this job can be linked."), 400)
    with transaction.atomic():
        incident.evidence.add(*evidence)
        incident.audit_events.add(*events)
        _record(
            incident,
            user,
            "incident.link",
            data={
                "evidence": [{"id": e.pk, "name": e.name, "sha256": e.sha256} for e in evidence],
                "events": [{"id": e.pk, "hash": e.hash} for e in events],
            },
        )


def close_incident(incident: Incident, user, resolution: str) -> Incident:
    _require(user, "change_incident")
    resolution = (resolution or "").strip()
    if not resolution:
        raise ActionRefused(_("A resolution is required to close an incident."), 400)
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status == IncidentStatus.CLOSED:
            raise ActionRefused(_("This incident is already closed."))
        incident.status, incident.resolution = IncidentStatus.CLOSED, resolution
        incident.closed_at = timezone.now()
        incident.save(update_fields=["status", "resolution", "closed_at"])
        _record(incident, user, "incident.close", reason=resolution)
    return incident


def incidents_csv(incidents) -> str:
    writer = csvexport.SafeWriter()
    writer.writerow(
        ["id", "customer", "job_id", "job", "kind", "cpam", "status", "opened_at", "opened_by",
         "closed_at", "description", "resolution", "notes", "evidence", "audit_events"]
    )  # fmt: skip
    for i in incidents:
        writer.writerow(
            [
                i.pk,
                i.job.customer.name,
                i.job_id,
                str(i.job),
                i.kind,
                i.cpam,
                i.status,
                i.opened_at.isoformat(),
                i.opened_by.get_username() if i.opened_by else "",
                i.closed_at.isoformat() if i.closed_at else "",
                i.description,
                i.resolution,
                " | ".join(
                    f"{n.created_at:%Y-%m-%d %H:%M} {n.author or ''}: {n.text}"
                    for n in i.notes.all()
                ),
                " ".join(f"{e.name}:{e.sha256}" for e in i.evidence.all()),
                " ".join(str(e.pk) for e in i.audit_events.all()),
            ]
        )
    return writer.getvalue()
