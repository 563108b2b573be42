"""FSE timeline and CPAM-dispute export per customer, the pxdatas decision form, evidence
downloads. Every view behind a permission; bad input answers 4xx."""

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from migrations_app import fse
from migrations_app.actions import ActionRefused
from migrations_app.models import Customer, Evidence, JobStep
from migrations_app.steps import pxdatas
from migrations_app.web.access import get_job_for_user, permission, refused
from migrations_app.web.forms import DecisionForm, read_int


def _customer_jobs(customer, request):
    jobs = customer.jobs.select_related("customer", "site").order_by("created_at")
    try:
        job_id = read_int(request.GET.get("job"))
    except ActionRefused:
        return None
    if job_id is not None:
        jobs = jobs.filter(pk=job_id)
    return list(jobs)


@permission("view_auditevent")
def fse_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    jobs = _customer_jobs(customer, request)
    if jobs is None:
        return HttpResponse(_("The job must be a number."), status=400)
    rows = [{"job": job, "timeline": fse.timeline(job)} for job in jobs]
    return render(request, "migrations_app/fse_timeline.html", {"customer": customer, "rows": rows})


@permission("view_auditevent")
def fse_export(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    jobs = _customer_jobs(customer, request)
    if jobs is None:
        return HttpResponse(_("The job must be a number."), status=400)
    response = HttpResponse(
        "\ufeff" + fse.timeline_csv(jobs), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="fse-client-{customer.pk}.csv"'
    return response


@permission("view_auditevent")
def fse_print(request: HttpRequest, pk: int) -> HttpResponse:
    """A printable page: every FSE event with who and why, and the manifests in full."""
    customer = get_object_or_404(Customer, pk=pk)
    jobs = _customer_jobs(customer, request)
    if jobs is None:
        return HttpResponse(_("The job must be a number."), status=400)
    rows = []
    for job in jobs:
        timeline = fse.timeline(job)
        for row in timeline:
            row["manifests"] = [
                {"evidence": ev, "document": fse.read_manifest(ev)} for ev in row["evidence"]
            ]
        rows.append({"job": job, "timeline": timeline})
    return render(request, "migrations_app/fse_print.html", {"customer": customer, "rows": rows})


@permission("view_evidence")
def evidence_download(request: HttpRequest, pk: int) -> HttpResponse:
    evidence = get_object_or_404(Evidence, pk=pk)
    try:
        handle = evidence.file.open("rb")
    except OSError:
        return HttpResponse(_("The evidence file is missing from storage."), status=410)
    return FileResponse(handle, as_attachment=True, filename=evidence.name)


@permission("run_step")
@require_POST
def fse_decision(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_job_for_user(request, pk)
    step = get_object_or_404(JobStep, job=job, key="data.pxdatas")
    back = f"{job.get_absolute_url()}?step=data.pxdatas"
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return refused(
            request, ActionRefused(_("Choose a decision and write a reason."), 400), back
        )
    try:
        pxdatas.request_decision(
            step, request.user, form.cleaned_data["decision"], form.cleaned_data["reason"]
        )
    except ActionRefused as exc:
        return refused(request, exc, back)
    messages.success(request, _("Decision recorded; it needs a supervisor's approval."))
    return redirect(back)
