"""The audit history, filtered by job and category (auditors and supervisors)."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from migrations_app.actions import ActionRefused
from migrations_app.choices import AuditCategory
from migrations_app.models import (
    AuditEvent,
)
from migrations_app.web.access import permission
from migrations_app.web.forms import read_int


@permission("view_auditevent")
def audit_list(request: HttpRequest) -> HttpResponse:
    events = AuditEvent.objects.select_related("job").order_by("-id")
    try:
        job_id = read_int(request.GET.get("job"))
    except ActionRefused as exc:
        return HttpResponse(str(exc), status=exc.status)
    if job_id is not None:
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
