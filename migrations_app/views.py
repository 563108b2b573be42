"""Pages of the dashboard: plain function views, every one behind login and a permission."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Min, Prefetch, Q
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseStopPolling

from migrations_app import actions, audit
from migrations_app.choices import AuditCategory, RunStatus, StepStatus
from migrations_app.forms import (
    CabinetForm,
    CredentialForm,
    CustomerForm,
    JobFilterForm,
    JobForm,
    MachineForm,
    NoteForm,
    SiteForm,
)
from migrations_app.models import (
    AuditEvent,
    Credential,
    Customer,
    JobStep,
    LogLine,
    Machine,
    MigrationJob,
    Site,
    StepRun,
)
from migrations_app.steps.registry import PHASES
from migrations_app.timeline import job_timeline

LOG_BATCH = 1000
# Log lines are read as named rows, not model instances: a third of the cost for 1,000 lines.
LOG_FIELDS = ("seq", "ts", "level", "text")


def permission(codename: str):
    """login_required + a model permission; 403 (not a login loop) when it is missing."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perm(f"migrations_app.{codename}"):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def post_only(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return view(request, *args, **kwargs)

    return wrapped


# ---------------------------------------------------------------- jobs


@permission("view_migrationjob")
def job_list(request):
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
def job_create(request):
    initial = {}
    if "site" in request.GET and request.GET["site"].isdigit():
        site = Site.objects.filter(pk=request.GET["site"]).first()
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


def _get_job_for_user(request, pk: int) -> MigrationJob:
    if not request.user.has_perm("migrations_app.view_migrationjob"):
        raise PermissionDenied
    return get_object_or_404(
        MigrationJob.objects.select_related("customer", "site", "source", "target", "assignee"),
        pk=pk,
    )


def _job_page(request, job, *, selected_step=None, selected_run=None, error=None, status=200):
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
    }
    return render(request, "migrations_app/job_detail.html", context, status=status)


@permission("view_migrationjob")
def job_detail(request, pk):
    job = _get_job_for_user(request, pk)
    return _job_page(request, job)


@permission("run_step")
@post_only
def step_action(request, pk, step_pk, action):
    job = _get_job_for_user(request, pk)
    step = get_object_or_404(JobStep, pk=step_pk, job=job)
    note = request.POST.get("note", "")
    try:
        if action in ("run", "retry"):
            params = {"dry_run": True} if request.POST.get("dry_run") == "1" else {}
            actions.start_run(step, request.user, reason=note, params=params)
            messages.success(request, _("Step sent to the workers."))
        elif action == "cancel":
            run_id = request.POST.get("run", "")
            run = get_object_or_404(StepRun, pk=int(run_id) if run_id.isdigit() else 0, step=step)
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
@post_only
def phase_verify(request, pk, phase):
    job = _get_job_for_user(request, pk)
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
@post_only
def job_tool(request, pk, tool):
    """Freeze or unfreeze the old server (a step added to the checklist on first use)."""
    job = _get_job_for_user(request, pk)
    if tool not in TOOLS:
        return _job_page(request, job, error=_("Unknown action."), status=404)
    try:
        actions.start_tool(job, TOOLS[tool], request.user, reason=request.POST.get("note", ""))
    except actions.ActionRefused as exc:
        return _job_page(request, job, error=str(exc), status=exc.status)
    messages.success(request, _("Step sent to the workers."))
    return redirect(f"{job.get_absolute_url()}?step={TOOLS[tool]}")


@permission("view_migrationjob")
def run_log(request, pk, run_pk):
    """htmx poll: the log lines after ?after=<seq>, plus status and progress out of band.
    Answers 286 (stop polling) once the run is over and every line was sent."""
    # The run, its step and its job in one query: this comes every second from each open page.
    run = get_object_or_404(StepRun.objects.select_related("step__job"), pk=run_pk, step__job_id=pk)
    job = run.step.job
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
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


# ---------------------------------------------------------------- customers, sites, machines


@permission("view_customer")
def customer_list(request):
    q = request.GET.get("q", "").strip()
    customers = Customer.objects.annotate(
        n_sites=Count("sites", distinct=True), n_jobs=Count("jobs", distinct=True)
    )
    if q:
        customers = customers.filter(Q(name__icontains=q) | Q(licence_number__icontains=q))
    # Aggregation drops Meta.ordering: order again, or pages may overlap.
    page = Paginator(customers.order_by("name", "pk"), 50).get_page(request.GET.get("page"))
    return render(request, "migrations_app/customer_list.html", {"page": page, "q": q})


@permission("view_customer")
def customer_detail(request, pk):
    customer = get_object_or_404(Customer, pk=pk)
    context = {
        "customer": customer,
        "cabinets": customer.cabinets.all(),
        "sites": customer.sites.annotate(n_machines=Count("machines")),
        "jobs": customer.jobs.select_related("site")[:50],
    }
    return render(request, "migrations_app/customer_detail.html", context)


def _save_form(
    request,
    form,
    context,
    *,
    action,
    category=AuditCategory.CONFIG,
    template="migrations_app/form.html",
):
    """Shared POST handling for the simple edit pages: 400 on errors, audit on success."""
    if request.method == "POST":
        if form.is_valid():
            obj = form.save()
            audit.record(
                action,
                category=category,
                actor=request.user,
                target=f"{obj._meta.model_name}:{obj.pk} {obj}",
                data={"fields": sorted(form.changed_data)},
            )
            messages.success(request, _("Saved."))
            return redirect(context.get("next") or obj.get_absolute_url())
        return render(request, template, {"form": form, **context}, status=400)
    return render(request, template, {"form": form, **context})


@permission("add_customer")
def customer_create(request):
    form = CustomerForm(request.POST or None)
    return _save_form(
        request,
        form,
        {"title": _("New customer")},
        action="customer.create",
    )


@permission("change_customer")
def customer_edit(request, pk):
    customer = get_object_or_404(Customer, pk=pk)
    form = CustomerForm(request.POST or None, instance=customer)
    return _save_form(
        request,
        form,
        {"title": customer.name},
        action="customer.change",
    )


@permission("add_cabinet")
def cabinet_create(request, pk):
    customer = get_object_or_404(Customer, pk=pk)
    form = CabinetForm(request.POST or None, customer=customer)
    form.instance.customer = customer
    context = {
        "title": _("New cabinet for %(customer)s") % {"customer": customer},
        "next": customer.get_absolute_url(),
    }
    return _save_form(request, form, context, action="cabinet.create")


@permission("add_site")
def site_create(request, pk):
    customer = get_object_or_404(Customer, pk=pk)
    form = SiteForm(request.POST or None, customer=customer)
    form.instance.customer = customer
    context = {"title": _("New site for %(customer)s") % {"customer": customer}}
    return _save_form(request, form, context, action="site.create")


@permission("view_site")
def site_detail(request, pk):
    site = get_object_or_404(Site.objects.select_related("customer"), pk=pk)
    context = {
        "site": site,
        "machines": site.machines.select_related("credential"),
        "jobs": site.jobs.select_related("source", "target")[:50],
    }
    return render(request, "migrations_app/site_detail.html", context)


@permission("change_site")
def site_edit(request, pk):
    site = get_object_or_404(Site, pk=pk)
    form = SiteForm(request.POST or None, instance=site, customer=site.customer)
    return _save_form(request, form, {"title": str(site)}, action="site.change")


@permission("add_machine")
def machine_create(request, pk):
    site = get_object_or_404(Site, pk=pk)
    form = MachineForm(request.POST or None, site=site)
    context = {"title": _("New machine on %(site)s") % {"site": site}}
    return _save_form(request, form, context, action="machine.create")


@permission("view_machine")
def machine_detail(request, pk):
    machine = get_object_or_404(
        Machine.objects.select_related("site__customer", "credential"), pk=pk
    )
    from migrations_app.views_machines import connection_context, since_of

    context = connection_context(machine, since_of(request))
    return render(request, "migrations_app/machine_detail.html", context)


@permission("change_machine")
def machine_edit(request, pk):
    machine = get_object_or_404(Machine, pk=pk)
    form = MachineForm(request.POST or None, instance=machine, site=machine.site)
    return _save_form(
        request,
        form,
        {"title": machine.hostname},
        action="machine.change",
    )


# ---------------------------------------------------------------- credentials


@permission("view_credential")
def credential_list(request):
    credentials = Credential.objects.annotate(n_machines=Count("machines"))
    return render(request, "migrations_app/credential_list.html", {"credentials": credentials})


@permission("add_credential")
def credential_create(request):
    form = CredentialForm(request.POST or None)
    return _save_form(
        request,
        form,
        {"title": _("New credential"), "next": "/credentials/"},
        action="credential.create",
        category=AuditCategory.SECURITY,
    )


@permission("change_credential")
def credential_edit(request, pk):
    credential = get_object_or_404(Credential, pk=pk)
    form = CredentialForm(request.POST or None, instance=credential)
    return _save_form(
        request,
        form,
        {"title": credential.name, "next": "/credentials/"},
        action="credential.change",
        category=AuditCategory.SECURITY,
    )


# ---------------------------------------------------------------- audit


@permission("view_auditevent")
def audit_list(request):
    events = AuditEvent.objects.select_related("job").order_by("-id")
    job_id = request.GET.get("job", "")
    if job_id.isdigit():
        events = events.filter(job_id=job_id)
    category = request.GET.get("category", "")
    if category in AuditCategory.values:
        events = events.filter(category=category)
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "migrations_app/audit_list.html",
        {"page": page, "categories": AuditCategory.choices, "category": category, "job_id": job_id},
    )


@login_required
def home(request):
    return redirect("overview")
