"""« Tester la connexion » (run by a worker, never by the web request): reach a machine, run a
short inventory, and keep the result on the machine (`last_inventory`).

First contact over SSH or WinRM-HTTPS: the host key / certificate fingerprint is read without
authenticating and kept as *observed*; a supervisor confirms it on the machine page and only
then does any transport authenticate. A key that changed afterwards is refused, and both
fingerprints are shown."""

import socket
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from julieops.remote import HostKeyChanged, HostKeyUnconfirmed, NotSupported, RemoteError
from julieops.remote.hostkeys import fetch_certificate_fingerprint, fetch_ssh_host_key
from julieops.windows import inventory
from julieops.windows.verdict import item, verdict
from migrations_app import audit
from migrations_app.choices import AuditCategory, Transport
from migrations_app.execution.machines import transport_for, transport_options
from migrations_app.models import Machine
from migrations_app.steps.registry import StepError

# States of a connection test, as kept in last_inventory["state"].
OK, WARNING, UNCONFIRMED, CHANGED, ERROR = "ok", "warning", "unconfirmed", "changed", "error"


def _fingerprint_kind(machine: Machine) -> str | None:
    """ "ssh", "tls" or None (nothing to pin: local, or WinRM over HTTP)."""
    if machine.transport == Transport.SSH:
        return "ssh"
    if machine.transport == Transport.WINRM:
        return "tls" if transport_options(machine).get("scheme", "https") == "https" else None
    return None


def fetch_fingerprint(machine: Machine) -> str:
    """What the machine presents, read without logging in."""
    if _fingerprint_kind(machine) == "ssh":
        return fetch_ssh_host_key(machine.address, machine.port or 22)[1]
    return fetch_certificate_fingerprint(machine.address, machine.port or 5986)


def _local(machine: Machine) -> dict:
    root = Path(machine.root_path or "")
    items = [
        item(
            "Dossier du C:",
            "ok" if machine.root_path and root.is_dir() else "fail",
            machine.root_path or "non renseigné",
        ),
        item(
            "PowerShell",
            "warn",
            "indisponible sur ce poste de travail : les vérifications Windows se font à la main",
        ),
    ]
    judged = verdict("Connexion locale", items)
    return {**judged, "host": socket.gethostname()}


def _remote(machine: Machine) -> dict:
    transport = transport_for(machine)
    try:
        answer = transport.run(["hostname"], timeout=60)
        if not answer.ok:
            raise RemoteError(f"« hostname » a répondu le code {answer.exit_code}.")
        host = answer.stdout.strip()
        items = [item("Connexion", "ok", f"{transport.kind} : le poste répond « {host} »")]
        data = {}
        if machine.root_path:
            found = transport.stat(machine.root_path)
            items.append(item("Dossier du C:", "ok" if found.is_dir else "fail", machine.root_path))
        try:
            data = transport.powershell(inventory.SCRIPT, {}) or {}
            items += inventory.machine_items(machine.hostname, data)
        except (NotSupported, RemoteError) as exc:
            items.append(item("Inventaire PowerShell", "warn", f"indisponible : {exc}"))
        return {**verdict("Test de connexion", items), "host": host, "inventory": data}
    finally:
        transport.close()


def check_connection(machine_id: int, user_id: int | None = None) -> dict:
    """Test one machine and record the result (on the machine and in the audit history)."""
    from django.contrib.auth import get_user_model

    machine = Machine.objects.select_related("credential").get(pk=machine_id)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    result = {"observed": "", "expected": machine.host_key_fingerprint}
    observed = machine.observed_fingerprint
    try:
        if machine.transport == Transport.LOCAL:
            judged = _local(machine)
        elif _fingerprint_kind(machine) and not machine.host_key_fingerprint:
            observed = fetch_fingerprint(machine)
            raise HostKeyUnconfirmed(
                f"Première connexion à {machine.hostname} : empreinte {observed} à faire "
                "confirmer par un superviseur sur cette page.",
                observed,
                None,
            )
        else:
            judged = _remote(machine)
            observed = ""  # the confirmed key answered: nothing waits for confirmation
        state = {"ok": OK, "warn": WARNING}.get(judged["status"], ERROR)
        result.update(judged, state=state, message=judged["summary"])
    except HostKeyUnconfirmed as exc:
        observed = exc.observed_fingerprint
        result.update(state=UNCONFIRMED, message=str(exc), observed=observed)
    except HostKeyChanged as exc:
        observed = exc.observed_fingerprint
        result.update(
            state=CHANGED,
            message=(
                f"La clé présentée par {machine.hostname} a changé : connexion refusée. "
                "Vérifiez sur le poste lui-même avant de confirmer la nouvelle empreinte."
            ),
            observed=observed,
        )
    except (RemoteError, StepError) as exc:
        result.update(state=ERROR, message=str(exc))
    result.setdefault("items", [])
    checked = timezone.now()
    result["checked_at"] = checked.isoformat()
    with transaction.atomic():
        Machine.objects.filter(pk=machine.pk).update(
            last_inventory=result, last_inventory_at=checked, observed_fingerprint=observed
        )
        audit.record(
            "machine.test_connection",
            category=AuditCategory.SECURITY,
            actor=user,
            target=machine.hostname,
            data={
                "machine": machine.pk,
                "state": result["state"],
                "observed": result["observed"],
                "expected": machine.host_key_fingerprint,
                "message": result["message"][:500],
            },
        )
    return result


def queue_for(machine: Machine) -> str:
    return machine.site.worker_queue or settings.CELERY_TASK_DEFAULT_QUEUE
