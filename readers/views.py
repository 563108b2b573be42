"""The readers report API (token auth, for the agent) and the token pages (login + permission)."""

import ipaddress
import json

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from migrations_app import audit
from migrations_app.choices import AuditCategory
from migrations_app.models import Machine
from migrations_app.web.access import permission
from migrations_app.web.login import client_ip
from readers.agent.report import MAX_REPORT_BYTES, parse_timestamp, validate_report
from readers.models import AgentToken, ReaderReport

MAX_TOKEN_LENGTH = 256
MAX_ERRORS_SHOWN = 50


# ---------------------------------------------------------------- API (the agent)


def _error(status: int, message: str, errors: list[str] | None = None) -> JsonResponse:
    body = {"error": message}
    if errors:
        body["errors"] = errors[:MAX_ERRORS_SHOWN]
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def _bearer(request: HttpRequest) -> str:
    scheme, _sep, value = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > MAX_TOKEN_LENGTH:
        return ""
    return value


def _reject_constant(name: str):
    raise ValueError(f"{name} n'est pas une valeur JSON")


def _unstorable_text(value) -> bool:
    """True if a string holds what the database refuses in JSON (NUL, lone surrogates)."""
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_unstorable_text(k) or _unstorable_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unstorable_text(v) for v in value)
    return False


def _client_ip(request: HttpRequest) -> str | None:
    """The agent's address (behind trusted proxies too, as for log-ins), if it is one."""
    try:
        return str(ipaddress.ip_address(client_ip(request)))
    except ValueError:
        return None


@csrf_exempt
@never_cache
def report_api(request: HttpRequest) -> HttpResponse:
    """POST /api/readers/report/ with `Authorization: Bearer <token>` and the JSON report."""
    if request.method != "POST":
        response = _error(405, "Méthode non permise : le rapport s'envoie en POST.")
        response["Allow"] = "POST"
        return response
    token = AgentToken.objects.find_active(_bearer(request))
    if token is None:
        response = _error(
            401,
            "Jeton absent, inconnu ou révoqué : créer un jeton sur la page du poste dans le "
            "tableau de bord.",
        )
        response["WWW-Authenticate"] = 'Bearer realm="julieops-readers"'
        return response

    length = request.META.get("CONTENT_LENGTH", "").strip()
    if not length:
        return _error(411, "En-tête Content-Length requis.")
    if not (length.isascii() and length.isdigit()):
        return _error(400, "En-tête Content-Length invalide.")
    if int(length) > MAX_REPORT_BYTES:
        return _error(413, f"Rapport trop volumineux (plus de {MAX_REPORT_BYTES} octets).")
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return _error(415, "Type de contenu refusé : application/json attendu.")
    # Read at most one byte past the limit: the body actually received is what counts.
    body = request.read(MAX_REPORT_BYTES + 1)
    if len(body) > MAX_REPORT_BYTES:
        return _error(413, f"Rapport trop volumineux (plus de {MAX_REPORT_BYTES} octets).")
    if not body.strip():
        return _error(400, "Corps de la requête vide : rapport JSON attendu.")
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        return _error(400, "Rapport illisible : texte UTF-8 attendu.")
    except (ValueError, RecursionError) as exc:
        detail = f" ({exc})" if isinstance(exc, json.JSONDecodeError) else ""
        return _error(400, f"Rapport illisible : JSON invalide{detail}.")
    errors = validate_report(data)
    if errors:
        return _error(400, "Rapport invalide.", errors)
    if _unstorable_text(data):
        return _error(400, "Rapport invalide : caractère nul ou Unicode non valide dans un texte.")

    # Fresh and never seen: generated near the time it arrives, and newer than the newest
    # report kept for the machine (a replayed report is refused, however old the copy).
    generated = parse_timestamp(data["generated_at"])
    skew = settings.JULIEOPS_REPORT_MAX_SKEW_SECONDS
    if abs((timezone.now() - generated).total_seconds()) > skew:
        return _error(
            400,
            f"Rapport refusé : généré le {data['generated_at']}, à plus de {skew // 60} minutes "
            "de sa réception (horloge du poste à vérifier).",
        )
    newest = (
        ReaderReport.objects.filter(machine=token.machine)
        .order_by("-generated_at")
        .values_list("generated_at", flat=True)
        .first()
    )
    if newest is not None and generated <= newest:
        return _error(409, "Rapport refusé : déjà reçu (ou plus ancien que le dernier reçu).")

    report = ReaderReport.record(token, data, _client_ip(request))
    return JsonResponse(
        {
            "id": report.pk,
            "message": f"Rapport enregistré pour {token.machine.hostname} "
            f"({report.reader_count} lecteur(s)).",
        },
        status=201,
        json_dumps_params={"ensure_ascii": False},
    )


# ---------------------------------------------------------------- token pages


def agent_command(request: HttpRequest, token_value: str) -> str:
    url = request.build_absolute_uri(reverse("readers_report"))
    return f'python -m readers report --url "{url}" --token {token_value}'


@permission("change_machine")
@require_POST
@never_cache
def token_issue(request: HttpRequest, pk: int) -> HttpResponse:
    """Create a token for the machine and show it once, with the command to paste."""
    machine = get_object_or_404(Machine, pk=pk)
    token, value = AgentToken.issue(machine, request.user)
    audit.record(
        "readers.token.issue",
        category=AuditCategory.SECURITY,
        actor=request.user,
        target=f"machine:{machine.pk} {machine.hostname}",
        data={"agent_token": token.pk, "prefix": token.prefix},
    )
    context = {
        "machine": machine,
        "token": token,
        "value": value,
        "command": agent_command(request, value),
    }
    return render(request, "readers/token_issued.html", context)


@permission("change_machine")
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(AgentToken.objects.select_related("machine"), pk=pk)
    machine = token.machine
    if token.revoke(request.user):
        audit.record(
            "readers.token.revoke",
            category=AuditCategory.SECURITY,
            actor=request.user,
            target=f"machine:{machine.pk} {machine.hostname}",
            data={"agent_token": token.pk, "prefix": token.prefix},
        )
        messages.success(
            request,
            _("Token %(prefix)s… revoked: the agent can no longer send reports with it.")
            % {"prefix": token.prefix},
        )
    else:
        messages.info(request, _("This token was already revoked."))
    return redirect(machine)
