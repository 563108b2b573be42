"""The job pages: list, creation, the checklist page with its actions, the live log poll."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Min, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from migrations_app import actions
from migrations_app.charts import mirror_chart
from migrations_app.choices import RunStatus, StepStatus
from migrations_app.execution import watch
from migrations_app.models import (
    JobStep,
    LogLine,
    MigrationJob,
    Site,
    StepRun,
)
from migrations_app.panels import JOB_PANELS
from migrations_app.steps.registry import PHASES
from migrations_app.timeline import job_timeline, timeline_svg
from migrations_app.web.access import get_job_for_user, permission
from migrations_app.web.forms import (
    JobFilterForm,
    JobForm,
    NoteForm,
    SourceKindForm,
    StepActionForm,
    form_error,
    read_int,
)

# Lines the job page shows (the end of the log, the final summary included), and lines one
# poll brings at most: a fast run's backlog arrives in a poll or two, not 1,000 a second.
LOG_BATCH = 1000
LOG_POLL_BATCH = 5000
# Lines read per query when the whole log is downloaded (streamed: any size, bounded memory).
LOG_EXPORT_CHUNK = 5000


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
    """The new-job form. A GET with ?customer= and ?site= (the dependent selects, or a link
    from a site's page) offers that customer's sites and that site's machines."""
    initial = {}
    try:
        site_id = read_int(request.GET.get("site"))
        customer_id = read_int(request.GET.get("customer"))
    except actions.ActionRefused as exc:
        return HttpResponse(str(exc), status=exc.status)
    site = Site.objects.filter(pk=site_id).first() if site_id is not None else None
    if customer_id is not None:
        initial["customer"] = customer_id
        if site and site.customer_id == customer_id:
            initial["site"] = site.pk
    elif site:
        initial = {"site": site.pk, "customer": site.customer_id}
    form = JobForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            job = actions.create_job(request.user, **form.cleaned_data)
            messages.success(request, _("Migration job created with its checklist."))
            return redirect(job)
        return render(request, "migrations_app/job_form.html", {"form": form}, status=400)
    return render(request, "migrations_app/job_form.html", {"form": form})


def run_watch(run) -> dict:
    """The reaper's state and the run's warning (queued with no worker, stalled)."""
    state = watch.reaper_state()
    return {
        "reaper_warning": watch.reaper_warning(state),
        "run_warning": watch.run_warning(run, state) if run is not None else "",
    }


def _job_page(
    request: HttpRequest, job, *, selected_step=None, selected_run=None, error=None, status=200
) -> HttpResponse:
    # The samples (up to 500 points) are read for the selected copy's chart only.
    runs_qs = (
        StepRun.objects.select_related("requested_by").defer("progress_samples").order_by("-pk")
    )
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
    # The counter counts catalogue steps: a tool added on first use (unfreeze) is no step
    # of the procedure and would make the total jump.
    catalogue_steps = [s for s in steps if s.definition.in_catalogue]
    done = sum(s.status in StepStatus.finished() for s in catalogue_steps)
    timeline = job_timeline(job)
    context = {
        "job": job,
        "phases": phases,
        "step": selected_step,
        "run": selected_run,
        "lines": lines,
        "after": lines[-1].seq if lines else 0,
        "done": done,
        "total": len(catalogue_steps),
        "note_form": NoteForm(),
        "error": error,
        "clients": list(job.clients.all()),
        "timeline": timeline,
        "timeline_svg": timeline_svg(timeline),
        "chart": mirror_chart(selected_run),
        "job_panels": JOB_PANELS,
        **run_watch(selected_run),
        # The order of the procedure: what the selected step waits for, and the derogations.
        "missing": actions.missing_dependencies(selected_step) if selected_step else [],
        "approvable": bool(selected_step and selected_step.definition.approvable(selected_step)),
        "derogations": actions.derogations(job),
        "source_kind_form": SourceKindForm(initial={"source_kind": job.source_kind}),
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
    derogation = form.cleaned_data["derogation"]
    try:
        if action in ("run", "retry"):
            params = {"dry_run": True} if form.cleaned_data["dry_run"] == "1" else {}
            actions.start_run(step, request.user, reason=note, params=params, derogation=derogation)
            messages.success(request, _("Step sent to the workers."))
        elif action == "cancel":
            run = get_object_or_404(StepRun, pk=form.cleaned_data.get("run") or 0, step=step)
            actions.cancel_run(run, request.user, reason=note)
            messages.info(request, _("Cancellation requested."))
        elif action == "lose":
            run = get_object_or_404(StepRun, pk=form.cleaned_data.get("run") or 0, step=step)
            actions.mark_lost(run, request.user, reason=note)
            messages.warning(request, _("Run marked lost: it can be retried."))
        elif action == "tick":
            actions.tick_step(step, request.user, note, derogation=derogation)
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
        return _refused(request, job, exc, selected_step=step)
    return redirect(f"{job.get_absolute_url()}?step={step.key}")


def _refused(request: HttpRequest, job, exc, *, selected_step=None) -> HttpResponse:
    """The refusal's French message with its 4xx: the whole page, or for htmx the message
    alone (htmx shows no page for an error status)."""
    if request.htmx:
        return HttpResponse(str(exc), status=exc.status, content_type="text/plain; charset=utf-8")
    return _job_page(request, job, selected_step=selected_step, error=str(exc), status=exc.status)


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
    # Land on the phase's results: its first verified step, else its first step.
    first = runs[0].step if runs else job.steps.filter(phase=phase).order_by("order").first()
    return redirect(f"{job.get_absolute_url()}?step={first.key}" if first else job)


@permission("change_migrationjob")
@require_POST
def job_source_kind(request: HttpRequest, pk: int) -> HttpResponse:
    """What the job copies from (live server or backup), changed with a reason."""
    job = get_job_for_user(request, pk)
    form = SourceKindForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        return _refused(request, job, actions.ActionRefused(errors, 400))
    try:
        actions.set_source_kind(
            job, request.user, form.cleaned_data["source_kind"], form.cleaned_data["note"]
        )
    except actions.ActionRefused as exc:
        return _refused(request, job, exc)
    messages.success(request, _("Source of the data recorded."))
    return redirect(f"{job.get_absolute_url()}?step=data.pxdatas")


TOOLS = {"freeze": "cutover.freeze", "unfreeze": "cutover.unfreeze"}


@permission("run_step")
@require_POST
def job_tool(request: HttpRequest, pk: int, tool: str) -> HttpResponse:
    """Freeze or unfreeze the old server (a step added to the checklist on first use)."""
    job = get_job_for_user(request, pk)
    if tool not in TOOLS:
        return _job_page(request, job, error=_("Unknown action."), status=404)
    form = StepActionForm(request.POST)
    if not form.is_valid():
        return _job_page(request, job, error=form_error(form), status=400)
    try:
        actions.start_tool(
            job,
            TOOLS[tool],
            request.user,
            reason=form.cleaned_data["note"],
            derogation=form.cleaned_data["derogation"],
        )
    except actions.ActionRefused as exc:
        return _refused(request, job, exc)
    messages.success(request, _("Step sent to the workers."))
    return redirect(f"{job.get_absolute_url()}?step={TOOLS[tool]}")


@permission("view_migrationjob")
def run_log(request: HttpRequest, pk: int, run_pk: int) -> HttpResponse:
    """htmx poll: the log lines after ?after=<seq>, plus status and progress out of band.
    Answers 286 (stop polling) once the run is over and every line was sent."""
    # The run, its step and its job in one query: this comes every second from each open page
    # (without the chart's samples, refreshed apart).
    run = get_object_or_404(
        StepRun.objects.select_related("step__job").defer("progress_samples"),
        pk=run_pk,
        step__job_id=pk,
    )
    job = run.step.job
    try:
        after = read_int(request.GET.get("after")) or 0
    except actions.ActionRefused:
        return HttpResponse(_("The cursor must be a whole number."), status=400)
    lines = list(
        LogLine.objects.filter(run=run, seq__gt=after)
        .order_by("seq")
        .values_list(*LOG_FIELDS, named=True)[:LOG_POLL_BATCH]
    )
    cursor = lines[-1].seq if lines else after
    finished = run.status in RunStatus.terminal() and len(lines) < LOG_POLL_BATCH
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
            **(run_watch(run) if run.is_active else {}),
        },
    )
    if finished:
        # The checklist, the runs and the buttons change with the outcome: the poller, swapped
        # out of band, fetches the page's grid once and swaps it in place (no reload: the note
        # being typed is preserved, see _log_poller.html).
        response.status_code = HttpResponseStopPolling.status_code
    return response


@permission("view_migrationjob")
def run_chart(request: HttpRequest, pk: int, run_pk: int) -> HttpResponse:
    """htmx refresh of a running copy's chart (every 10 s; it stops once the run is over)."""
    run = get_object_or_404(StepRun.objects.select_related("step__job"), pk=run_pk, step__job_id=pk)
    chart = mirror_chart(run)
    if chart is None:
        raise Http404
    return render(
        request,
        "migrations_app/_mirror_chart.html",
        {"job": run.step.job, "run": run, "chart": chart, "live": run.is_active},
    )


@permission("view_migrationjob")
def run_log_download(request: HttpRequest, pk: int, run_pk: int) -> HttpResponse:
    """The whole log of a run as a text file, streamed by chunks of lines (any size)."""
    run = get_object_or_404(StepRun.objects.select_related("step__job"), pk=run_pk, step__job_id=pk)
    header = _(
        "# JulieOps - %(job)s - %(step)s - run #%(attempt)s\n"
        "# Times: ISO 8601 in the time zone %(tz)s\n"
    ) % {
        "job": run.step.job,
        "step": run.step.definition.title,
        "attempt": run.attempt,
        "tz": timezone.get_current_timezone_name(),
    }

    def lines():
        yield header
        after = 0
        while True:
            chunk = list(
                LogLine.objects.filter(run_id=run.pk, seq__gt=after)
                .order_by("seq")
                .values_list(*LOG_FIELDS, named=True)[:LOG_EXPORT_CHUNK]
            )
            if not chunk:
                return
            yield "".join(
                f"{timezone.localtime(line.ts).isoformat(timespec='seconds')} "
                f"{line.level.upper():7} {line.text}\n"
                for line in chunk
            )
            after = chunk[-1].seq

    response = StreamingHttpResponse(lines(), content_type="text/plain; charset=utf-8")
    filename = f"julieops-job{run.step.job_id}-{run.step.key}-run{run.attempt}.log.txt"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("overview")
