"""The machine page's connection panel: test the connection (through a worker), follow the
result, confirm a host key fingerprint (supervisors)."""

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from julieops.remote.hostkeys import same_fingerprint
from migrations_app import audit, tasks
from migrations_app.choices import AuditCategory
from migrations_app.models import Machine
from migrations_app.panels import MACHINE_PANELS
from migrations_app.web.access import permission


def since_of(request: HttpRequest) -> float | None:
    try:
        return float(request.GET.get("since", ""))
    except ValueError:
        return None


def connection_context(machine: Machine, since: float | None) -> dict:
    """What _connection.html shows; `waiting` while no result newer than the request exists."""
    done_at = machine.last_inventory_at.timestamp() if machine.last_inventory_at else None
    waiting = since is not None and (done_at is None or done_at < since)
    result = machine.last_inventory or {}
    return {
        "machine": machine,
        "result": result,
        "waiting": waiting,
        "since": since,
        "items": result.get("items") or [],
    }


@permission("change_machine")
@require_POST
def machine_test_connection(request: HttpRequest, pk: int) -> HttpResponse:
    machine = get_object_or_404(Machine.objects.select_related("site"), pk=pk)
    requested = timezone.now().timestamp()
    tasks.enqueue_connection_check(machine, request.user)
    messages.info(request, _("Connection test queued: the result appears below."))
    return redirect(f"{machine.get_absolute_url()}?since={requested:.6f}")


@permission("view_machine")
def machine_connection(request: HttpRequest, pk: int) -> HttpResponse:
    """The connection panel alone (htmx polls it every 2 s while the test runs)."""
    machine = get_object_or_404(Machine, pk=pk)
    context = connection_context(machine, since_of(request))
    return render(request, "migrations_app/_connection.html", context)


@permission("confirm_host_key")
@require_POST
def machine_confirm_key(request: HttpRequest, pk: int) -> HttpResponse:
    """A supervisor confirms the fingerprint the page showed: it becomes the pinned one. The
    form carries the value shown, so a key that changed meanwhile is not confirmed blindly."""
    shown = request.POST.get("fingerprint", "").strip()
    with transaction.atomic():
        machine = get_object_or_404(Machine.objects.select_for_update(), pk=pk)
        observed = machine.observed_fingerprint
        if not shown:
            messages.error(request, _("No fingerprint was sent: confirm from the machine page."))
            return machine_page(request, pk, status=400)
        if not observed or not same_fingerprint(shown, observed):
            messages.error(
                request,
                _("The fingerprint changed since the page was shown: test the connection again."),
            )
            return machine_page(request, pk, status=409)
        previous = machine.host_key_fingerprint
        machine.host_key_fingerprint, machine.observed_fingerprint = observed, ""
        machine.confirmed_for = machine.identity()
        machine.save(update_fields=["host_key_fingerprint", "observed_fingerprint"])
        audit.record(
            "machine.host_key_confirm",
            category=AuditCategory.SECURITY,
            actor=request.user,
            target=machine.hostname,
            data={
                "machine": machine.pk,
                "fingerprint": observed,
                "previous": previous,
            },
        )
    messages.success(request, _("Fingerprint confirmed. Test the connection again."))
    return redirect(machine)


def machine_page(request: HttpRequest, pk: int, *, status: int = 200) -> HttpResponse:
    """The machine page with its connection panel and messages (a refused action: a 4xx)."""
    machine = get_object_or_404(
        Machine.objects.select_related("site__customer", "credential"), pk=pk
    )
    context = {**connection_context(machine, since_of(request)), "machine_panels": MACHINE_PANELS}
    return render(request, "migrations_app/machine_detail.html", context, status=status)
