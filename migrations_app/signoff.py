"""The sign-off report of a job (`post.signoff`): checklist, operators, run times, copy
summaries, the FSE proof and open incidents. HTML for printing; PDF through WeasyPrint when
it is installed (it is optional at run time: its system libraries may be missing)."""

from pathlib import Path

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from migrations_app import cutover_window
from migrations_app.actions import derogations
from migrations_app.charts import mirror_chart
from migrations_app.choices import IncidentStatus, StepStatus
from migrations_app.models import AuditEvent, Evidence, Incident, MigrationJob, StepRun
from migrations_app.steps.registry import PHASES
from migrations_app.timeline import job_timeline, timeline_svg

FSE_STEPS = ("source.pxdatas_snapshot", "data.pxdatas")
COPY_STEP = "data.mirror"
# Robocopy's summary: rows and columns, in its order.
COPY_ROWS = ("dirs", "files", "bytes")
COPY_COLUMNS = ("total", "copied", "skipped", "mismatch", "failed", "extras")

ROLE_LABELS = {
    "assignee": _("assignee"),
    "created": _("created the job"),
    "ran": _("ran steps"),
    "ticked": _("ticked or skipped steps"),
    "approved": _("approved steps"),
}


def build_report(job: MigrationJob) -> dict:
    runs_qs = StepRun.objects.select_related("requested_by").order_by("pk")
    steps = list(
        job.steps.select_related("done_by", "approved_by").prefetch_related(
            Prefetch("runs", queryset=runs_qs, to_attr="all_runs")
        )
    )
    by_key = {step.key: step for step in steps}
    fse_run_ids = [run.pk for key in FSE_STEPS if key in by_key for run in by_key[key].all_runs]
    evidence = list(Evidence.objects.filter(run_id__in=fse_run_ids).order_by("created_at"))
    incidents = list(
        Incident.objects.filter(job=job, status=IncidentStatus.OPEN).select_related("opened_by")
    )
    done = sum(step.status in StepStatus.finished() for step in steps)
    in_force = cutover_window.for_job(job)["frozen_at"]
    return {
        "job": job,
        "generated_at": timezone.now(),
        "phases": [
            {"number": n, "title": title, "steps": [s for s in steps if s.phase == n]}
            for n, title in PHASES.items()
        ],
        "done": done,
        "total": len(steps),
        "complete": done == len(steps),
        "operators": operators(job, steps),
        "runs": [(step, run) for step in steps for run in step.all_runs],
        "copies": [
            {
                "run": run,
                "table": copy_table(run.result),
                "chart": mirror_chart(run),
                "superseded": _superseded(run, in_force),
            }
            for run in getattr(by_key.get(COPY_STEP), "all_runs", [])
        ],
        "fse": [
            {
                "step": by_key[key],
                "evidence": [
                    e for e in evidence if e.run_id in {r.pk for r in by_key[key].all_runs}
                ],
            }
            for key in FSE_STEPS
            if key in by_key
        ],
        "incidents": incidents,
        "derogations": derogations(job),
        "timeline_svg": timeline_svg(job_timeline(job)),
        # The audit chain's head when the report is made: once printed and signed, it anchors
        # the history outside the database (a later deletion of recent rows shows).
        "audit_anchor": AuditEvent.objects.order_by("-id")
        .values("id", "hash", "created_at")
        .first(),
    }


def operators(job: MigrationJob, steps) -> list[dict]:
    """Each person who worked on the job and what they did, from the checklist and runs."""
    roles: dict[str, set[str]] = {}

    def add(user, role):
        if user is not None:
            roles.setdefault(user.get_username(), set()).add(role)

    add(job.assignee, "assignee")
    add(job.created_by, "created")
    for step in steps:
        add(step.done_by, "ticked")
        add(step.approved_by, "approved")
        for run in step.all_runs:
            add(run.requested_by, "ran")
    # People named only in the audit history (a user since deleted keeps their name there).
    for name in (
        AuditEvent.objects.filter(job=job, actor__isnull=True)
        .exclude(actor_name__startswith="worker ")
        .exclude(actor_name="système")
        .values_list("actor_name", flat=True)
        .distinct()
    ):
        roles.setdefault(name, set())
    return [
        {"name": name, "roles": [str(ROLE_LABELS[r]) for r in ROLE_LABELS if r in did]}
        for name, did in sorted(roles.items())
    ]


def _superseded(run, in_force) -> bool:
    """A final pass made after a freeze that a later freeze (or an unfreeze) replaced: it no
    longer counts as the cut-over's final pass."""
    result = run.result or {}
    if result.get("pre_copy") or not result.get("frozen_at") or run.started_at is None:
        return False
    return in_force is None or run.started_at < in_force


def copy_table(result: dict) -> list[dict] | None:
    """Robocopy-style counters from a mirror run's result: {"dirs": {"total": …, "copied": …},
    "files": …, "bytes": …}, possibly under "summary", or one per data root under "roots"
    (added up: the report shows the whole copy)."""
    roots = result.get("roots") if isinstance(result, dict) else None
    if isinstance(roots, list) and roots:
        result = {
            row: {c: sum((r.get(row) or {}).get(c) or 0 for r in roots) for c in COPY_COLUMNS}
            for row in COPY_ROWS
        }
    for source in (result, result.get("summary") if isinstance(result, dict) else None):
        if isinstance(source, dict) and any(isinstance(source.get(r), dict) for r in COPY_ROWS):
            return [
                {"name": row, "values": [source[row].get(c) for c in COPY_COLUMNS]}
                for row in COPY_ROWS
                if isinstance(source.get(row), dict)
            ]
    return None


def pdf_available() -> bool:
    try:
        import weasyprint  # noqa: F401
    except Exception:  # missing package or its system libraries (OSError)
        return False
    return True


def _refuse_fetch(url, *args, **kwargs):
    # The report is self-contained; never let the renderer reach the network or the disk.
    raise ValueError(f"resource not allowed in the report: {url}")


def render_pdf(html: str) -> bytes:
    import weasyprint
    from django.contrib.staticfiles import finders

    # The same stylesheet as the page, handed over as text: nothing to fetch.
    css = weasyprint.CSS(string=Path(finders.find("css/report.css")).read_text())
    return weasyprint.HTML(string=html, url_fetcher=_refuse_fetch).write_pdf(stylesheets=[css])
