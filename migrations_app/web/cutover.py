"""A person's confirmation, for the freeze, that a post it cannot reach is off or has Julie
closed (recorded on the job and audited in migrations_app.steps.cutover)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from migrations_app.actions import ActionRefused
from migrations_app.steps.cutover import FREEZE_KEY, confirm_post_closed
from migrations_app.web.access import get_job_for_user, permission
from migrations_app.web.jobs import _job_page

MAX_FIELD = 2000


@permission("run_step")
@require_POST
def freeze_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_job_for_user(request, pk)
    step = job.steps.filter(key=FREEZE_KEY).first()
    try:
        confirm_post_closed(
            job,
            request.user,
            request.POST.get("post", "")[:200],
            request.POST.get("reason", "")[:MAX_FIELD],
        )
    except ActionRefused as exc:
        return _job_page(request, job, selected_step=step, error=str(exc), status=exc.status)
    messages.success(request, _("Confirmation recorded: run the freeze again."))
    return redirect(f"{job.get_absolute_url()}?step={FREEZE_KEY}")
