"""What a person decides about `source.locate`'s findings: the corrected data and imaging paths,
and the confirmation that XRAY, IMAGE or DOCPATIENT really is absent (before the copy). Both are
stored in the job's discovered paths and audited (who, when, why, before/after); the next run
of `source.locate` uses them."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from julieops.julietree.layout import parse_drive_path
from migrations_app import audit
from migrations_app.actions import ActionRefused, decided_by, required_text
from migrations_app.choices import AuditCategory
from migrations_app.models import MigrationJob
from migrations_app.steps.inventory import CONFIRM_IF_MISSING


def _reason(reason: str) -> str:
    return required_text(reason, _("A written reason is required."))[:2000]


def _path(text: str) -> str:
    found = parse_drive_path(text)
    if found is None:
        raise ActionRefused(
            _("« %(path)s » is not a Windows path such as D:\\Juliew.") % {"path": text[:200]},
            400,
        )
    drive, rel = found
    return drive + "\\" + rel.replace("/", "\\")


def override_paths(job, user, julie_root: str, imaging_roots: list[str], reason: str):
    """Replace what source.locate found by the technician's paths (empty: back to the search)."""
    reason = _reason(reason)
    julie_root = (julie_root or "").strip()
    roots = [r.strip() for r in imaging_roots if r and r.strip()]
    after = {"julie_root": _path(julie_root) if julie_root else "", "imaging_roots": []}
    after["imaging_roots"] = [_path(r) for r in roots]
    with transaction.atomic():
        job = MigrationJob.objects.select_for_update().get(pk=job.pk)
        paths = dict(job.discovered_paths or {})
        before = paths.get("override") or {}
        if after["julie_root"] or after["imaging_roots"]:
            paths["override"] = {**after, **decided_by(user, reason)}
        else:
            paths.pop("override", None)
        job.discovered_paths = paths
        job.save(update_fields=["discovered_paths", "updated_at"])
        audit.record(
            "source.locate.override",
            category=AuditCategory.DATA,
            actor=user,
            job=job,
            target=job.source.hostname,
            reason=reason,
            data={"before": before, "after": after},
        )
    return job


def confirm_absent(job, user, folders: list[str], reason: str):
    """A person confirms that these folders do not exist at the practice (none elsewhere)."""
    reason = _reason(reason)
    wanted = {f.strip().upper() for f in folders if f and f.strip()}
    unknown = sorted(wanted - set(CONFIRM_IF_MISSING))
    if not wanted or unknown:
        raise ActionRefused(
            _("Choose among: %(folders)s.") % {"folders": ", ".join(CONFIRM_IF_MISSING)}, 400
        )
    with transaction.atomic():
        job = MigrationJob.objects.select_for_update().get(pk=job.pk)
        paths = dict(job.discovered_paths or {})
        confirmed = dict(paths.get("confirmed_absent") or {})
        when = timezone.now()
        for name in sorted(wanted):
            confirmed[name] = decided_by(user, reason, when)
        paths["confirmed_absent"] = confirmed
        job.discovered_paths = paths
        job.save(update_fields=["discovered_paths", "updated_at"])
        audit.record(
            "source.locate.confirm_absent",
            category=AuditCategory.DATA,
            actor=user,
            job=job,
            target=job.source.hostname,
            reason=reason,
            data={"folders": sorted(wanted)},
        )
    return job
