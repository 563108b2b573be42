"""The technician's corrections of `source.locate`: data and imaging paths, and the confirmed
absence of XRAY / IMAGE / DOCPATIENT (audited in migrations_app.located_paths)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from migrations_app.actions import ActionRefused
from migrations_app.located_paths import confirm_absent, override_paths
from migrations_app.web.access import get_job_for_user, permission
from migrations_app.web.jobs import _job_page

MAX_FIELD = 2000


@permission("run_step")
@require_POST
def locate_paths(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    job = get_job_for_user(request, pk)
    step = job.steps.filter(key="source.locate").first()
    reason = request.POST.get("reason", "")[:MAX_FIELD]
    try:
        if action == "override":
            roots = request.POST.get("imaging_roots", "")[:MAX_FIELD].splitlines()
            julie_root = request.POST.get("julie_root", "")[:MAX_FIELD]
            override_paths(job, request.user, julie_root, roots, reason)
            messages.success(request, _("Paths recorded: run the search again to use them."))
        elif action == "confirm":
            folders = request.POST.getlist("folders")[:10]
            confirm_absent(job, request.user, folders, reason)
            messages.success(request, _("Absence confirmed: run the search again."))
        else:
            return _job_page(
                request, job, selected_step=step, error=_("Unknown action."), status=404
            )
    except ActionRefused as exc:
        return _job_page(request, job, selected_step=step, error=str(exc), status=exc.status)
    return redirect(f"{job.get_absolute_url()}?step=source.locate")
