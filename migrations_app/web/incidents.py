"""Incidents (CPAM/FSE, SMS, data): list, opening, notes, links to evidence, closing."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from migrations_app import incidents
from migrations_app.actions import ActionRefused
from migrations_app.choices import IncidentKind, IncidentStatus
from migrations_app.models import Incident
from migrations_app.web.access import get_job_for_user, permission, refused
from migrations_app.web.forms import IncidentActionForm, IncidentForm, form_error, read_int


@permission("view_incident")
def incident_list(request: HttpRequest) -> HttpResponse:
    items = Incident.objects.select_related("job__customer", "opened_by").order_by("-opened_at")
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    q = request.GET.get("q", "").strip()
    try:
        customer_id = read_int(request.GET.get("customer"))
        job_id = read_int(request.GET.get("job"))
    except ActionRefused:
        return HttpResponse(_("Filters by customer or job take a number."), status=400)
    if status in IncidentStatus.values:
        items = items.filter(status=status)
    if kind in IncidentKind.values:
        items = items.filter(kind=kind)
    if customer_id is not None:
        items = items.filter(job__customer_id=customer_id)
    if job_id is not None:
        items = items.filter(job_id=job_id)
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
def incident_create(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_job_for_user(request, pk)
    form = IncidentForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return render(
                request, "migrations_app/incident_form.html", {"form": form, "job": job}, status=400
            )
        try:
            incident = incidents.open_incident(job, request.user, **form.cleaned_data)
        except ActionRefused as exc:
            return refused(request, exc, job.get_absolute_url())
        messages.success(request, _("Incident opened."))
        return redirect("incident_detail", incident.pk)
    return render(request, "migrations_app/incident_form.html", {"form": form, "job": job})


@permission("view_incident")
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
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
@require_POST
def incident_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    incident = get_object_or_404(Incident.objects.select_related("job"), pk=pk)
    back = reverse("incident_detail", args=[incident.pk])
    form = IncidentActionForm(request.POST)
    try:
        if not form.is_valid():
            raise ActionRefused(form_error(form), 400)
        data = form.cleaned_data
        if action == "note":
            incidents.add_note(incident, request.user, data["text"])
        elif action == "link":
            incidents.link(
                incident, request.user, evidence_ids=data["evidence"], event_ids=data["events"]
            )
        elif action == "close":
            incidents.close_incident(incident, request.user, data["resolution"])
        else:
            raise ActionRefused(_("Unknown action."), 400)
    except ActionRefused as exc:
        return refused(request, exc, back)
    return redirect("incident_detail", incident.pk)
