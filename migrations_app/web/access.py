"""Who may see and do what on the pages: a permission decorator, objects fetched for a user,
and refusals rendered as a 4xx page."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from migrations_app.actions import ActionRefused
from migrations_app.models import (
    MigrationJob,
)


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


def refused(request: HttpRequest, exc: ActionRefused, back: str) -> HttpResponse:
    """Render the refusal as a small page with its status (a 4xx, never a 500)."""
    return render(
        request,
        "migrations_app/fse_refused.html",
        {"message": str(exc), "back": back},
        status=exc.status,
    )


def get_job_for_user(request: HttpRequest, pk: int) -> MigrationJob:
    """The job, for a user who may see jobs (every job: the team shares them); 403 for
    anyone else, 404 when there is no such job."""
    if not request.user.has_perm("migrations_app.view_migrationjob"):
        raise PermissionDenied
    return get_object_or_404(
        MigrationJob.objects.select_related("customer", "site", "source", "target", "assignee"),
        pk=pk,
    )
