"""The team's pages above single jobs: the overview (what runs, what needs a person),
the workers and their queues, and a job's sign-off report."""

import hashlib
import logging
from datetime import date, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Exists, Min, OuterRef, Q, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from migrations_app.choices import IncidentStatus, JobStatus, RunStatus, StepKind, StepStatus
from migrations_app.execution import watch
from migrations_app.execution.watch import live_workers, seconds_text
from migrations_app.models import (
    AuditEvent,
    Customer,
    Incident,
    JobStep,
    MigrationJob,
    Site,
    StepRun,
)
from migrations_app.steps.registry import PHASES, REGISTRY
from migrations_app.web.access import permission
from migrations_app.web.forms import JobFilterForm

logger = logging.getLogger(__name__)

SIGNOFF = "post.signoff"
# Rows of the long lists: with a team's 200+ active jobs, rendering every one cost ~100 ms
# per refresh and made a page nobody reads to the end (25 rows: a ~50 KB page at 2,000
# jobs instead of ~95 KB). The counts stay complete, with a link to the full list.
OVERVIEW_ROWS = 25
# Warnings (a run queued with no worker, a stalled run) shown before « and N more ».
OVERVIEW_WARNINGS = 10
# What the overview shows of an active job (a job's title falls back on customer and site).
OVERVIEW_JOB_FIELDS = (
    "title", "status", "created_at", "customer__name", "site__name",
    "assignee__username", "assignee__first_name", "assignee__last_name",
)  # fmt: skip


# ---------------------------------------------------------------- overview


def _filters(request: HttpRequest) -> tuple[JobFilterForm, Q]:
    form = JobFilterForm(request.GET or None)
    # Only the customers with an active job: the overview shows nothing for the others,
    # and a team's full list (2,000 customers) cost ~30 ms per refresh to build.
    form.fields["customer"].queryset = Customer.objects.filter(
        pk__in=MigrationJob.objects.filter(status__in=JobStatus.active()).values("customer_id")
    ).only("id", "name")
    jobs = Q()
    if form.is_valid():
        if form.cleaned_data["customer"]:
            jobs &= Q(customer=form.cleaned_data["customer"])
        if form.cleaned_data["assignee"]:
            jobs &= Q(assignee=form.cleaned_data["assignee"])
    return form, jobs


def _prefixed(q: Q, prefix: str) -> Q:
    """The same job filter seen from a related model (step__job__…)."""
    return Q(*[(f"{prefix}{k}", v) for k, v in q.children], _connector=q.connector)


def dependencies(key: str, keys) -> set[str]:
    """What a step waits for; the sign-off waits for every other step of the job."""
    if key == SIGNOFF:
        return set(keys) - {SIGNOFF}
    definition = REGISTRY.get(key)
    return set(definition.depends_on) if definition else set()


def approval_keys() -> list[str]:
    """Keys of the steps that can wait for a supervisor: approval steps, and steps with an
    approval rule of their own (e.g. the Sms.db restore of data.services)."""
    return [
        key
        for key, definition in REGISTRY.items()
        if definition.needs_approval() or "approvable" in vars(definition)
    ]


def needs_a_person(steps: list[dict]) -> list[dict]:
    """From the steps (dicts) of the active jobs: failed steps, steps with something for a
    supervisor to approve (the step's own rule: a pxdatas decision, an Sms.db restore) whose
    dependencies are finished, manual steps whose dependencies are finished."""
    by_job: dict[int, list[dict]] = {}
    for step in steps:
        by_job.setdefault(step["job_id"], []).append(step)
    found = []
    for job_steps in by_job.values():
        keys = {s["key"] for s in job_steps}
        finished = {s["key"] for s in job_steps if s["status"] in StepStatus.finished()}
        for step in job_steps:
            ready = (dependencies(step["key"], keys) & keys) <= finished
            if step["status"] == StepStatus.FAILED:
                reason = "failed"
            elif step["awaits_approval"] and step["status"] not in StepStatus.active() and ready:
                reason = "approval"
            elif step["kind"] == StepKind.MANUAL and step["status"] == StepStatus.TODO and ready:
                reason = "manual"
            else:
                continue
            definition = REGISTRY.get(step["key"])
            found.append(
                {**step, "reason": reason, "title": definition.title if definition else step["key"]}
            )
    order = {"failed": 0, "approval": 1, "manual": 2}
    found.sort(key=lambda s: (order[s["reason"]], s["job_id"], s["phase"], s["order"]))
    return found


# The overview is rendered once per OVERVIEW_CACHE_SECONDS per filter, language and role
# (everything but the failures, the reaper's warning and the waiting runs, which are read
# fresh on every request), and again as soon as anything is audited (every run's end, every
# tick, approval, incident): the cached value carries the newest audit event. The page says
# how old it is. While one process renders it again, the others serve the previous one for
# up to OVERVIEW_STALE_SECONDS (with its age shown) instead of all rendering it at once.
OVERVIEW_CACHE_SECONDS = getattr(settings, "JULIEOPS_OVERVIEW_CACHE_SECONDS", 5)
OVERVIEW_STALE_SECONDS = 60


def role_key(user) -> str:
    """What the cached overview may depend on about the person: what they may do (their
    permissions, read once per request by the permission check anyway), never who they are;
    two people with the same role share it."""
    perms = sorted(user.get_all_permissions()) if user.is_authenticated else []
    digest = hashlib.sha256("|".join(perms).encode()).hexdigest()[:16]
    return f"{int(user.is_superuser)}:{digest}"


def _cache_key(job_filter: Q, roles: str = "") -> str:
    raw = f"{job_filter!r}|{get_language()}|{roles}"
    return "overview:v2:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def _audit_head() -> int | None:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()


def _freshness(job_filter: Q) -> tuple[int | None, list]:
    """What a cached overview is checked against: the newest audit event and what the failed
    rows show (their ids and summaries), in one round trip when a step has failed."""
    newest = AuditEvent.objects.order_by("-pk").values("pk")[:1]
    rows = list(
        _failed_query(job_filter)
        .order_by("pk")
        .annotate(head=Subquery(newest))
        .values_list("pk", "summary", "head")
    )
    head = rows[0][2] if rows else _audit_head()
    return head, [(pk, summary) for pk, summary, _head in rows]


def _slow_part(job_filter: Q, form=None) -> dict:
    """Nine queries, whatever the number of jobs, steps and runs."""
    jobs = MigrationJob.objects.filter(job_filter)
    by_status = dict(jobs.order_by().values_list("status").annotate(n=Count("pk")))
    active = list(
        jobs.filter(status__in=JobStatus.active())
        .select_related("customer", "site", "assignee")
        .only(*OVERVIEW_JOB_FIELDS)
        .annotate(
            steps_total=Count("steps"),
            steps_done=Count("steps", filter=Q(steps__status__in=StepStatus.finished())),
            steps_failed=Count("steps", filter=Q(steps__status=StepStatus.FAILED)),
            phase=Min("steps__phase", filter=~Q(steps__status__in=StepStatus.finished())),
        )
        .order_by("phase", "-created_at")
    )
    jobs_by_pk = {job.pk: job for job in active}
    fields = ("id", "job_id", "key", "kind", "status", "phase", "order", "approved_at", "summary")
    active_steps = JobStep.objects.filter(job_id__in=jobs_by_pk).order_by()
    # Only steps with an approval rule are loaded whole (the rule reads results and options).
    awaiting = {
        step.pk
        for step in active_steps.filter(key__in=approval_keys())
        .select_related("job")
        .only(*fields, "result", "approved_by_id", "job__options")
        if REGISTRY[step.key].approvable(step)
    }
    steps = [
        {**step, "awaits_approval": step["id"] in awaiting} for step in active_steps.values(*fields)
    ]
    # Failed steps are read fresh on each request (see _failed_steps).
    needs = [item for item in needs_a_person(steps) if item["reason"] != "failed"]
    for item in needs:
        item["job"] = jobs_by_pk[item["job_id"]]
    incidents = list(
        Incident.objects.filter(_prefixed(job_filter, "job__"), status=IncidentStatus.OPEN)
        .select_related("job__customer", "opened_by")
        .order_by("-opened_at")
    )
    open_by_job: dict[int, int] = {}
    for incident in incidents:
        open_by_job[incident.job_id] = open_by_job.get(incident.job_id, 0) + 1
    for job in active:
        job.open_incidents = open_by_job.get(job.pk, 0)
    # Jobs by phase (rows) and status (columns), active jobs only.
    active_statuses = [s for s in JobStatus if s in JobStatus.active()]
    matrix = []
    for number, title in PHASES.items():
        row = [
            sum(1 for j in active if j.phase == number and j.status == s) for s in active_statuses
        ]
        matrix.append({"number": number, "title": str(title), "counts": row, "total": sum(row)})
    data = {
        "status_counts": [
            {"status": s.value, "label": str(s.label), "count": by_status.get(s.value, 0)}
            for s in JobStatus
        ],
        "active_statuses": [{"value": s.value, "label": str(s.label)} for s in active_statuses],
        "matrix": matrix,
        "active_jobs": active[:OVERVIEW_ROWS],
        "active_total": len(active),
        "incidents": incidents,
    }
    runs = _active_runs(job_filter)
    failed = _failed_steps(job_filter)
    # What the cache keeps: plain figures and rendered HTML (cheap to read back), no models.
    return {
        "status_counts": data["status_counts"],
        "matrix": matrix,
        "form": render_to_string("migrations_app/_overview_form.html", {"form": form}),
        "runs": render_to_string("migrations_app/_overview_runs.html", runs),
        "failed_signature": sorted((f["id"], f["summary"]) for f in failed),
        "failed_rows": _render_rows(failed[:OVERVIEW_ROWS]),
        "failed_total": len(failed),
        "figures": render_to_string("migrations_app/_overview_figures.html", data),
        "jobs": render_to_string("migrations_app/_overview_jobs.html", data),
        "incidents": render_to_string("migrations_app/_overview_incidents.html", data),
        "cutovers": render_to_string(
            "migrations_app/_overview_cutovers.html", cutover_plan(job_filter)
        ),
        "waiting_rows": [_render_rows([item]) for item in needs[:OVERVIEW_ROWS]],
        "waiting_total": len(needs),
        "computed_at": timezone.now(),
    }


# A cut-over this close whose pre-copy (data.mirror) has not run is flagged.
PRECOPY_WARNING_DAYS = 7
PRECOPY_STEP = "data.mirror"


def cutover_plan(job_filter: Q, today: date | None = None) -> dict:
    """This week's planned cut-overs by technician and day, the late ones (date passed, job
    not finished) and the near ones whose pre-copy has not run. One query."""
    today = today or timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    sunday = monday + timedelta(days=6)
    soon = today + timedelta(days=PRECOPY_WARNING_DAYS)
    active = JobStatus.active()
    precopy_done = JobStep.objects.filter(
        job_id=OuterRef("pk"), key=PRECOPY_STEP, status__in=StepStatus.finished()
    )
    jobs = list(
        MigrationJob.objects.filter(job_filter)
        .filter(
            Q(cutover_date__range=(monday, sunday), status__in=[*active, JobStatus.DONE])
            | Q(cutover_date__lt=today, status__in=active)
            | Q(cutover_date__range=(today, soon), status__in=active)
        )
        .select_related("customer", "site", "assignee")
        .only(*OVERVIEW_JOB_FIELDS, "cutover_date", "cutover_slot")
        .annotate(precopy_done=Exists(precopy_done))
        .order_by("cutover_date", "cutover_slot", "pk")
    )
    days = [monday + timedelta(days=n) for n in range(7)]
    rows: dict[str, dict] = {}
    for job in jobs:
        if not monday <= job.cutover_date <= sunday:
            continue
        who = str(job.assignee) if job.assignee else ""
        row = rows.setdefault(who, {"who": who, "cells": {d: [] for d in days}})
        row["cells"][job.cutover_date].append(job)
    week = [
        {"who": r["who"], "cells": [r["cells"][d] for d in days]}
        for _key, r in sorted(rows.items(), key=lambda kv: (kv[0] == "", kv[0]))
    ]
    return {
        "days": days,
        "today": today,
        "week": week,
        "late": [j for j in jobs if j.cutover_date < today and j.status in active],
        "no_precopy": [
            j
            for j in jobs
            if today <= j.cutover_date <= soon and j.status in active and not j.precopy_done
        ],
        "precopy_days": PRECOPY_WARNING_DAYS,
    }


def _failed_query(job_filter: Q):
    return JobStep.objects.filter(
        _prefixed(job_filter, "job__"),
        status=StepStatus.FAILED,
        job__status__in=JobStatus.active(),
    )


def _render_rows(items: list[dict]) -> str:
    return "".join(
        render_to_string("migrations_app/_overview_need_row.html", {"n": item}) for item in items
    )


def _failed_steps(job_filter: Q) -> list[dict]:
    """The failed steps of the active jobs, fresh: a failure is never shown late."""
    found = []
    failed = (
        _failed_query(job_filter)
        .select_related("job__customer", "job__site", "job__assignee")
        .only(
            "id",
            "job_id",
            "key",
            "kind",
            "status",
            "phase",
            "order",
            "summary",
            *(f"job__{f}" for f in OVERVIEW_JOB_FIELDS),
        )  # fmt: skip
        .order_by("job_id", "phase", "order")
    )
    for step in failed:
        definition = REGISTRY.get(step.key)
        found.append(
            {
                "id": step.pk, "job_id": step.job_id, "key": step.key, "phase": step.phase,
                "order": step.order, "summary": step.summary, "reason": "failed",
                "title": definition.title if definition else step.key, "job": step.job,
            }
        )  # fmt: skip
    return found


def _active_runs(job_filter: Q) -> dict:
    """The running and queued runs (the newest OVERVIEW_ROWS) and how many there are."""
    active = StepRun.objects.filter(
        _prefixed(job_filter, "step__job__"), status__in=RunStatus.active()
    )
    runs = list(
        active.select_related("step__job__customer", "requested_by")
        .defer("progress_samples", "result", "params")
        .order_by("-pk")[:OVERVIEW_ROWS]
    )
    for run in runs:
        run.eta_text = seconds_text(run.eta_seconds)
        definition = REGISTRY.get(run.step.key)
        run.step_title = definition.title if definition else run.step.key
    total = len(runs) if len(runs) < OVERVIEW_ROWS else active.count()
    return {"runs": runs, "runs_total": total}


def _cached_part(job_filter: Q, roles: str, form, head: int | None) -> dict:
    """The rendered part, fresh or (while another process renders it) a little stale."""
    key = _cache_key(job_filter, roles)
    if OVERVIEW_CACHE_SECONDS <= 0:
        return _slow_part(job_filter, form)
    slow = cache.get(key)
    if slow is not None and slow.get("audit_head") == head:
        return slow
    # Stale (expired, or something was audited since): one process renders it again, the
    # others serve the stale copy meanwhile; with no copy at all, each renders its own.
    stale = slow or cache.get(key + ":stale")
    if stale is not None and not cache.add(key + ":lock", 1, 30):
        return stale
    try:
        slow = _slow_part(job_filter, form)
        slow["audit_head"] = head
        cache.set(key, slow, OVERVIEW_CACHE_SECONDS)
        cache.set(key + ":stale", slow, OVERVIEW_STALE_SECONDS)
    finally:
        if stale is not None:
            cache.delete(key + ":lock")
    return slow


def overview_context(job_filter: Q, roles: str = "", form=None) -> dict:
    """The cached part, checked against the newest audit event and the failed steps (one
    narrow query; the failed rows are rendered again only when they changed), and the
    reaper's state (one row)."""
    head, failed_signature = _freshness(job_filter)
    slow = _cached_part(job_filter, roles, form, head)
    if failed_signature == slow["failed_signature"]:
        failed_rows, failed_total = slow["failed_rows"], slow["failed_total"]
    else:  # a failure since the cached part was rendered: never shown late
        failed = _failed_steps(job_filter)
        failed_rows, failed_total = _render_rows(failed[:OVERVIEW_ROWS]), len(failed)
    failed_shown = min(failed_total, OVERVIEW_ROWS)
    waiting = slow["waiting_rows"][: OVERVIEW_ROWS - failed_shown]
    age = (timezone.now() - slow["computed_at"]).total_seconds()
    state = watch.reaper_state()  # never cached: a missing beat shows at once
    # Live too (a run queued with no worker, a stalled run): at most OVERVIEW_WARNINGS + 1
    # read, the rest is on the workers page.
    to_look_at = watch.waiting_runs(
        state, _prefixed(job_filter, "step__job__"), limit=OVERVIEW_WARNINGS + 1
    )
    warnings = render_to_string(
        "migrations_app/_overview_warnings.html",
        {"waiting": to_look_at[:OVERVIEW_WARNINGS], "more": len(to_look_at) > OVERVIEW_WARNINGS},
    )
    return {
        "warnings": warnings,
        "reaper_warning": watch.reaper_warning(state),
        "status_counts": slow["status_counts"],
        "matrix": slow["matrix"],
        "cached": {
            k: mark_safe(slow[k])  # noqa: S308 - our own rendered templates
            for k in ("form", "runs", "figures", "jobs", "incidents", "cutovers")
        },
        # Our own rendered templates:
        "need_rows": mark_safe(failed_rows + "".join(waiting)),  # noqa: S308
        "needs_shown": failed_shown + len(waiting),
        "needs_total": failed_total + slow["waiting_total"],
        "computed_age_seconds": max(0, int(age)),
    }


@permission("view_migrationjob")
def overview(request: HttpRequest) -> HttpResponse:
    form, job_filter = _filters(request)
    context = overview_context(job_filter, role_key(request.user), form)
    if request.htmx:
        return render(request, "migrations_app/_overview_live.html", context)
    return render(request, "migrations_app/overview.html", context)


# ---------------------------------------------------------------- workers


@permission("view_migrationjob")
def workers(request: HttpRequest) -> HttpResponse:
    alive = live_workers()
    consumed = {q for queues in (alive or {}).values() for q in queues}
    queued = dict(
        StepRun.objects.filter(status=RunStatus.QUEUED)
        .order_by()
        .values_list("queue")
        .annotate(n=Count("pk"))
    )
    sites: dict[str, list[Site]] = {}
    for site in Site.objects.exclude(worker_queue="").select_related("customer"):
        sites.setdefault(site.worker_queue, []).append(site)
    names = {settings.CELERY_TASK_DEFAULT_QUEUE, settings.JULIEOPS_REAPER_QUEUE, *sites, *queued}
    queues = [
        {
            "name": name,
            "sites": sites.get(name, []),
            "queued": queued.get(name, 0),
            "workers": [w for w, qs in (alive or {}).items() if name in qs],
            "orphan": name not in consumed,
        }
        for name in sorted(names, key=lambda n: (n != settings.CELERY_TASK_DEFAULT_QUEUE, n))
    ]
    state = watch.reaper_state()
    if alive is not None:  # this page asked the workers itself: fresher than the reaper
        state = {**state, "queues": sorted(consumed)}
    context = {
        "alive": alive,
        "queues": queues,
        "inspect_failed": alive is None,
        "reaper_warning": watch.reaper_warning(state),
        "reaper_at": state["at"],
        "waiting": watch.waiting_runs(state),
    }
    return render(request, "migrations_app/workers.html", context)


# ---------------------------------------------------------------- sign-off report
