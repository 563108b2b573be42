"""FSE timeline and CPAM-dispute export per customer, the pxdatas decision form, evidence
downloads, and incidents. Every view behind a permission; bad input answers 4xx."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from migrations_app import fse, incidents
from migrations_app.actions import ActionRefused
from migrations_app.choices import IncidentKind, IncidentStatus
from migrations_app.models import Customer, Evidence, Incident, JobStep
from migrations_app.views import _get_job_for_user, permission, post_only


def _refused(request, exc: ActionRefused, back: str):
    """Render the refusal as a small page with its status (a 4xx, never a 500)."""
    return render(
        request,
        "migrations_app/fse_refused.html",
        {"message": str(exc), "back": back},
        status=exc.status,
    )


# ---------------------------------------------------------------- FSE timeline and export


def _customer_jobs(customer, request):
    jobs = customer.jobs.select_related("customer", "site").order_by("created_at")
    job_id = request.GET.get("job", "")
    if job_id:
        if not job_id.isdigit():
            return None
        jobs = jobs.filter(pk=job_id)
    return list(jobs)


@permission("view_auditevent")
def fse_timeline(request, pk):
    customer = get_object_or_404(Customer, pk=pk)
    jobs = _customer_jobs(customer, request)
    if jobs is None:
        return HttpResponse(_("The job must be a number."), status=400)
    rows = [{"job": job, "timeline": fse.timeline(job)} for job in jobs]
    return render(request, "migrations_app/fse_timeline.html", {"customer": customer, "rows": rows})


@permission("view_auditevent")
def fse_export(request, pk):
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
def fse_print(request, pk):
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
def evidence_download(request, pk):
    evidence = get_object_or_404(Evidence, pk=pk)
    try:
        handle = evidence.file.open("rb")
    except OSError:
        return HttpResponse(_("The evidence file is missing from storage."), status=410)
    return FileResponse(handle, as_attachment=True, filename=evidence.name)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[
            (fse.PURGE, gettext_lazy("Empty pxdatas on the new server")),
            (fse.KEEP_EXTRAS, gettext_lazy("Keep the extra files")),
            (fse.WITHDRAW, gettext_lazy("Withdraw the decision")),
        ]
    )
    reason = forms.CharField(widget=forms.Textarea, max_length=2000)


@permission("run_step")
@post_only
def fse_decision(request, pk):
    job = _get_job_for_user(request, pk)
    step = get_object_or_404(JobStep, job=job, key="data.pxdatas")
    back = f"{job.get_absolute_url()}?step=data.pxdatas"
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _refused(
            request, ActionRefused(_("Choose a decision and write a reason."), 400), back
        )
    try:
        fse.request_decision(
            step, request.user, form.cleaned_data["decision"], form.cleaned_data["reason"]
        )
    except ActionRefused as exc:
        return _refused(request, exc, back)
    messages.success(request, _("Decision recorded; it needs a supervisor's approval."))
    return redirect(back)


# ---------------------------------------------------------------- incidents


class IncidentForm(forms.ModelForm):
    class Meta:
        model = Incident
        fields = ["kind", "cpam", "description"]


def _ids(values) -> list[int] | None:
    try:
        return [int(v) for v in values if str(v).strip()]
    except ValueError:
        return None


@permission("view_incident")
def incident_list(request):
    items = Incident.objects.select_related("job__customer", "opened_by").order_by("-opened_at")
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    q = request.GET.get("q", "").strip()
    for value in (request.GET.get("customer", ""), request.GET.get("job", "")):
        if value and not value.isdigit():
            return HttpResponse(_("Filters by customer or job take a number."), status=400)
    if status in IncidentStatus.values:
        items = items.filter(status=status)
    if kind in IncidentKind.values:
        items = items.filter(kind=kind)
    if request.GET.get("customer"):
        items = items.filter(job__customer_id=request.GET["customer"])
    if request.GET.get("job"):
        items = items.filter(job_id=request.GET["job"])
    if q:
        items = items.filter(
            Q(description__icontains=q) | Q(cpam__icontains=q) | Q(job__customer__name__icontains=q)
        )
    if request.GET.get("format") == "csv":
        rows = items.prefetch_related("notes__author", "evidence", "audit_events")
        response = HttpResponse(
            "\ufeff" + incidents.incidents_csv(rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="incidents.csv"'
        return response
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "migrations_app/incident_list.html",
        {
            "page": page,
            "kinds": IncidentKind.choices,
            "statuses": IncidentStatus.choices,
            "kind": kind,
            "status": status,
            "q": q,
            "query": request.GET.urlencode(),
        },
    )


@permission("add_incident")
def incident_create(request, pk):
    job = _get_job_for_user(request, pk)
    form = IncidentForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return render(
                request, "migrations_app/incident_form.html", {"form": form, "job": job}, status=400
            )
        try:
            incident = incidents.open_incident(job, request.user, **form.cleaned_data)
        except ActionRefused as exc:
            return _refused(request, exc, job.get_absolute_url())
        messages.success(request, _("Incident opened."))
        return redirect("incident_detail", incident.pk)
    return render(request, "migrations_app/incident_form.html", {"form": form, "job": job})


@permission("view_incident")
def incident_detail(request, pk):
    incident = get_object_or_404(
        Incident.objects.select_related("job__customer", "opened_by"), pk=pk
    )
    linked_evidence = set(incident.evidence.values_list("pk", flat=True))
    linked_events = set(incident.audit_events.values_list("pk", flat=True))
    context = {
        "incident": incident,
        "notes": incident.notes.select_related("author"),
        "evidence": incident.evidence.all(),
        "events": incident.audit_events.all(),
        "job_evidence": incident.job.evidence.exclude(pk__in=linked_evidence)[:200],
        "job_events": incident.job.audit_events.exclude(pk__in=linked_events).order_by("-id")[:200],
    }
    return render(request, "migrations_app/incident_detail.html", context)


@permission("change_incident")
@post_only
def incident_action(request, pk, action):
    incident = get_object_or_404(Incident.objects.select_related("job"), pk=pk)
    back = reverse("incident_detail", args=[incident.pk])
    try:
        if action == "note":
            incidents.add_note(incident, request.user, request.POST.get("text", ""))
        elif action == "link":
            evidence_ids = _ids(request.POST.getlist("evidence"))
            event_ids = _ids(request.POST.getlist("events"))
            if evidence_ids is None or event_ids is None:
                raise ActionRefused(_("Identifiers must be numbers."), 400)
            incidents.link(incident, request.user, evidence_ids=evidence_ids, event_ids=event_ids)
        elif action == "close":
            incidents.close_incident(incident, request.user, request.POST.get("resolution", ""))
        else:
            raise ActionRefused(_("Unknown action."), 400)
    except ActionRefused as exc:
        return _refused(request, exc, back)
    return redirect("incident_detail", incident.pk)
