"""The job pages: list, creation, the checklist page with its actions, the live log poll."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Min, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from migrations_app import actions
from migrations_app.choices import RunStatus, StepStatus
from migrations_app.models import (
    JobStep,
    LogLine,
    MigrationJob,
    Site,
    StepRun,
)
from migrations_app.panels import JOB_PANELS
from migrations_app.steps.registry import PHASES
from migrations_app.timeline import job_timeline
from migrations_app.web.access import get_job_for_user, permission
from migrations_app.web.forms import (
    JobFilterForm,
    JobForm,
    NoteForm,
    StepActionForm,
    form_error,
    read_int,
)

LOG_BATCH = 1000


# Log lines are read as named rows, not model instances: a third of the cost for 1,000 lines.
LOG_FIELDS = ("seq", "ts", "level", "text")


@permission("view_migrationjob")
def job_list(request: HttpRequest) -> HttpResponse:
    form = JobFilterForm(request.GET or None)
    jobs = MigrationJob.objects.select_related("customer", "site", "assignee")
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            q = data["q"]
            jobs = jobs.filter(
                Q(title__icontains=q)
                | Q(customer__name__icontains=q)
                | Q(site__name__icontains=q)
                | Q(source__hostname__icontains=q)
                | Q(target__hostname__icontains=q)
            )
        if data["status"]:
            jobs = jobs.filter(status=data["status"])
        if data["customer"]:
            jobs = jobs.filter(customer=data["customer"])
        if data["assignee"]:
            jobs = jobs.filter(assignee=data["assignee"])
    page = Paginator(jobs.order_by("-created_at", "-pk"), 50).get_page(request.GET.get("page"))
    # Step figures for the page's jobs only: aggregating every job's steps before the
    # LIMIT cost ~50 ms with 2,000 jobs.
    figures = {
        row["job_id"]: row
        for row in JobStep.objects.filter(job_id__in=[job.pk for job in page])
        .order_by()
        .values("job_id")
        .annotate(
            steps_total=Count("pk"),
            steps_done=Count("pk", filter=Q(status__in=StepStatus.finished())),
            steps_failed=Count("pk", filter=Q(status=StepStatus.FAILED)),
            steps_running=Count("pk", filter=Q(status__in=StepStatus.active())),
            phase=Min("phase", filter=~Q(status__in=StepStatus.finished())),
        )
    }
    empty = {"steps_total": 0, "steps_done": 0, "steps_failed": 0, "steps_running": 0}
    for job in page:
        for key, value in {**empty, "phase": None, **figures.get(job.pk, {})}.items():
            if key != "job_id":
                setattr(job, key, value)
    return render(
        request, "migrations_app/job_list.html", {"page": page, "form": form, "phases": PHASES}
    )


@permission("add_migrationjob")
def job_create(request: HttpRequest) -> HttpResponse:
    initial = {}
    try:
        site_id = read_int(request.GET.get("site"))
    except actions.ActionRefused as exc:
        return HttpResponse(str(exc), status=exc.status)
    if site_id is not None:
        site = Site.objects.filter(pk=site_id).first()
        if site:
            initial = {"site": site, "customer": site.customer}
    form = JobForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            job = actions.create_job(request.user, **form.cleaned_data)
            messages.success(request, _("Migration job created with its checklist."))
            return redirect(job)
        return render(request, "migrations_app/job_form.html", {"form": form}, status=400)
    return render(request, "migrations_app/job_form.html", {"form": form})


def _job_page(
    request: HttpRequest, job, *, selected_step=None, selected_run=None, error=None, status=200
) -> HttpResponse:
    runs_qs = StepRun.objects.select_related("requested_by").order_by("-pk")
    steps = list(
        job.steps.select_related("done_by", "approved_by").prefetch_related(
            Prefetch("runs", queryset=runs_qs, to_attr="all_runs")
        )
    )
    if selected_step is None:
        key = request.GET.get("step")
        selected_step = next((s for s in steps if s.key == key), None)
        if selected_step is None:
            running = [s for s in steps if s.status in StepStatus.active()]
            selected_step = (
                running[0]
                if running
                else next(
                    (s for s in steps if s.status not in StepStatus.finished()),
                    steps[0] if steps else None,
                )
            )
    else:
        selected_step = next((s for s in steps if s.pk == selected_step.pk), selected_step)
    if selected_run is None and selected_step is not None:
        run_id = request.GET.get("run")
        runs = getattr(selected_step, "all_runs", [])
        selected_run = next((r for r in runs if str(r.pk) == run_id), runs[0] if runs else None)
    lines = []
    if selected_run is not None:
        lines = list(
            selected_run.log_lines.order_by("-seq").values_list(*LOG_FIELDS, named=True)[:LOG_BATCH]
        )[::-1]
    phases = [
        {
            "number": n,
            "title": title,
            "steps": [s for s in steps if s.phase == n],
            "verifiable": any(
                (s.kind == "check" and s.definition.is_automated()) or s.definition.supports_dry_run
                for s in steps
                if s.phase == n
            ),
        }
        for n, title in PHASES.items()
    ]
    done = sum(s.status in StepStatus.finished() for s in steps)
    context = {
        "job": job,
        "phases": phases,
        "step": selected_step,
        "run": selected_run,
        "lines": lines,
        "after": lines[-1].seq if lines else 0,
        "done": done,
        "total": len(steps),
        "note_form": NoteForm(),
        "error": error,
        "clients": list(job.clients.all()),
        "timeline": job_timeline(job),
        "job_panels": JOB_PANELS,
    }
    return render(request, "migrations_app/job_detail.html", context, status=status)


@permission("view_migrationjob")
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_job_for_user(request, pk)
    return _job_page(request, job)


@permission("run_step")
@require_POST
def step_action(request: HttpRequest, pk: int, step_pk: int, action: str) -> HttpResponse:
    job = get_job_for_user(request, pk)
    step = get_object_or_404(JobStep, pk=step_pk, job=job)
    form = StepActionForm(request.POST)
    # A run id that is no id names no run: the cancel below answers 404.
    if not form.is_valid() and set(form.errors) - {"run"}:
        return _job_page(request, job, selected_step=step, error=form_error(form), status=400)
    note = form.cleaned_data["note"]
    try:
        if action in ("run", "retry"):
            params = {"dry_run": True} if form.cleaned_data["dry_run"] == "1" else {}
            actions.start_run(step, request.user, reason=note, params=params)
            messages.success(request, _("Step sent to the workers."))
        elif action == "cancel":
            run = get_object_or_404(StepRun, pk=form.cleaned_data.get("run") or 0, step=step)
            actions.cancel_run(run, request.user, reason=note)
            messages.info(request, _("Cancellation requested."))
        elif action == "tick":
            actions.tick_step(step, request.user, note)
            messages.success(request, _("Step ticked."))
        elif action == "skip":
            actions.skip_step(step, request.user, note)
            messages.success(request, _("Step skipped."))
        elif action == "approve":
            actions.approve_step(step, request.user, note)
            messages.success(request, _("Step approved."))
        elif action == "reopen":
            actions.reopen_step(step, request.user, note)
            messages.success(request, _("Step reopened."))
        else:
            return _job_page(
                request, job, selected_step=step, error=_("Unknown action."), status=400
            )
    except actions.ActionRefused as exc:
        return _job_page(request, job, selected_step=step, error=str(exc), status=exc.status)
    return redirect(f"{job.get_absolute_url()}?step={step.key}")


@permission("run_step")
@require_POST
def phase_verify(request: HttpRequest, pk: int, phase: int) -> HttpResponse:
    job = get_job_for_user(request, pk)
    if phase not in PHASES:
        return _job_page(request, job, error=_("Unknown phase."), status=404)
    runs, refused = actions.verify_phase(job, phase, request.user)
    if runs:
        messages.success(
            request,
            _("Phase %(phase)s: %(n)s checks and simulations sent to the workers.")
            % {"phase": phase, "n": len(runs)},
        )
    for text in refused:
        messages.warning(request, text)
    if not runs and not refused:
        messages.info(request, _("This phase has no automated check."))
    return redirect(job)


TOOLS = {"freeze": "cutover.freeze", "unfreeze": "cutover.unfreeze"}


@permission("run_step")
@require_POST
def job_tool(request: HttpRequest, pk: int, tool: str) -> HttpResponse:
    """Freeze or unfreeze the old server (a step added to the checklist on first use)."""
    job = get_job_for_user(request, pk)
    if tool not in TOOLS:
        return _job_page(request, job, error=_("Unknown action."), status=404)
    try:
        actions.start_tool(job, TOOLS[tool], request.user, reason=request.POST.get("note", ""))
    except actions.ActionRefused as exc:
        return _job_page(request, job, error=str(exc), status=exc.status)
    messages.success(request, _("Step sent to the workers."))
    return redirect(f"{job.get_absolute_url()}?step={TOOLS[tool]}")


@permission("view_migrationjob")
def run_log(request: HttpRequest, pk: int, run_pk: int) -> HttpResponse:
    """htmx poll: the log lines after ?after=<seq>, plus status and progress out of band.
    Answers 286 (stop polling) once the run is over and every line was sent."""
    # The run, its step and its job in one query: this comes every second from each open page.
    run = get_object_or_404(StepRun.objects.select_related("step__job"), pk=run_pk, step__job_id=pk)
    job = run.step.job
    try:
        after = read_int(request.GET.get("after")) or 0
    except actions.ActionRefused:
        return HttpResponse(_("The cursor must be a whole number."), status=400)
    lines = list(
        LogLine.objects.filter(run=run, seq__gt=after)
        .order_by("seq")
        .values_list(*LOG_FIELDS, named=True)[:LOG_BATCH]
    )
    cursor = lines[-1].seq if lines else after
    finished = run.status in RunStatus.terminal() and len(lines) < LOG_BATCH
    response = render(
        request,
        "migrations_app/_log_poll.html",
        {
            "job": job,
            "run": run,
            "step": run.step,
            "lines": lines,
            "after": cursor,
            "finished": finished,
        },
    )
    if finished:
        response.status_code = HttpResponseStopPolling.status_code
        # The checklist, the runs and the buttons change with the outcome: reload the page once.
        response["HX-Refresh"] = "true"
    return response


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("overview")
