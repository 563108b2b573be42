"""The dashboard's reading of readers reports: per machine and per job (the `post.readers` step).

A post of the job (new server, client posts) that never sent a report fails: its readers are
not checked, and nothing else can tell that it has none.

The verdict itself is `readers.agent.diagnosis.diagnose`; this module picks its inputs (the latest
report of each machine, galss.ini and the `C:\\Windows\\ga*` names read through the machine's
transport when it can be reached, the customer's cabinets) and lays out the step's items.
"""

import datetime
import json
from dataclasses import dataclass, field

from django.utils import timezone

from julieops.julietree.reader import find_child, join
from migrations_app.execution import capture
from migrations_app.execution.machines import tree_for
from migrations_app.steps.registry import StepError
from readers.agent.atr import classify_atr
from readers.agent.diagnosis import FAIL, OK, WARN, diagnose
from readers.agent.galss import parse_galss
from readers.models import ReaderReport

# A report older than this may predate the installation: still used, but flagged.
REPORT_MAX_AGE = datetime.timedelta(days=2)
_RANK = {OK: 0, WARN: 1, FAIL: 2}


@dataclass
class MachineFiles:
    """galss.ini and the ga* names as read through the transport.
    `galss`: None = not read, {} = read and absent, else parse_galss(...).as_dict()."""

    read: bool
    note: str
    galss: dict | None = None
    galss_bytes: bytes | None = None
    ga_files: list[str] | None = None
    errors: list[str] = field(default_factory=list)


def read_machine_files(machine) -> MachineFiles:
    """Read C:\\Windows\\galss.ini and list C:\\Windows\\ga* through the machine's transport."""
    try:
        tree = tree_for(machine)
    except StepError as exc:
        return MachineFiles(read=False, note=f"Fichiers non lus sur le poste : {exc}")
    try:
        windows = find_child(tree, "", "Windows")
        if windows is None:
            return MachineFiles(
                read=False, note=f"Dossier Windows introuvable dans {tree.location}."
            )
        names = sorted(
            e.relpath
            for e in tree.list_dir(windows)
            if not e.is_dir and e.relpath.lower().startswith("ga")
        )
        files = MachineFiles(read=True, note=f"galss.ini et ga* lus dans {tree.location}.")
        files.ga_files = names
        ini = find_child(tree, windows, "galss.ini")
        if ini is None:
            files.galss = {}
        else:
            files.galss_bytes = tree.read_bytes(join(ini))
            files.galss = parse_galss(files.galss_bytes).as_dict()
        return files
    except OSError as exc:
        return MachineFiles(
            read=False, note=f"Lecture de C:\\Windows impossible ({exc.strerror or exc})."
        )


def diagnose_report(report: ReaderReport, files: MachineFiles | None = None, cabinets=()):
    """diagnose() on a stored report; files read through the transport take precedence."""
    if files is not None and files.read:
        return diagnose(
            report.payload, galss=files.galss, windows_ga_files=files.ga_files, cabinets=cabinets
        )
    return diagnose(report.payload, cabinets=cabinets)


def latest_user_session(machine) -> dict | None:
    """The user's session in the machine's newest report that carries one (schema /2)."""
    for report in ReaderReport.objects.filter(machine=machine).order_by("-received_at", "-pk")[:20]:
        session = (report.payload or {}).get("user_session")
        if session is not None:
            return {"received_at": report.received_at, "session": session, "report": report.pk}
    return None


def reader_rows(report: ReaderReport) -> list[dict]:
    """Readers of a report with their card recomputed from the ATR (the agent's label is not
    trusted)."""
    rows = []
    for reader in report.readers:
        card, label = None, ""
        if reader.get("atr"):
            try:
                info = classify_atr(reader["atr"], smartcard_list=None)
                card, label = info.card, info.label
            except ValueError:
                card, label = "unknown", "ATR illisible"
        rows.append(
            {"name": reader["name"], "atr": reader.get("atr"), "card": card, "label": label}
        )
    return rows


def machine_summary(machine) -> dict:
    """What the machine page shows: the latest report, its readers and its verdict (from the
    report alone: a web request never reaches a practice machine)."""
    report = ReaderReport.latest_for(machine)
    if report is None:
        return {"report": None}
    return {
        "report": report,
        "readers": reader_rows(report),
        "diagnosis": diagnose_report(report),
        "stale": timezone.now() - report.received_at > REPORT_MAX_AGE,
    }


def cabinets_of(customer) -> list[dict]:
    return [{"name": c.name, "cps_reader": c.cps_reader} for c in customer.cabinets.all()]


def _item(machine, code: str, label: str, status: str, detail: str) -> dict:
    prefix = f"{machine.hostname} — " if machine is not None else ""
    return {
        "code": code,
        "label": prefix + label,
        "status": status,
        "detail": detail,
        "machine": machine.hostname if machine is not None else "",
    }


def _report_item(machine, report: ReaderReport, files: MachineFiles) -> dict:
    status = OK
    when = timezone.localtime(report.received_at).strftime("%d/%m/%Y %H:%M")
    detail = f"Rapport du {when} ({report.reader_count} lecteur(s))."
    if timezone.now() - report.received_at > REPORT_MAX_AGE:
        status = WARN
        detail += " Rapport ancien : relancer l'agent sur le poste pour un état à jour."
    if not report.hostname_matches:
        status = WARN
        detail += (
            f" Le rapport vient du poste « {report.hostname} », pas de « {machine.hostname} » :"
            " vérifier le jeton utilisé."
        )
    detail += " " + files.note
    return _item(machine, "report", "Rapport de l'agent", status, detail)


def evaluate_job(job, cabinets: list[dict], *, log=None, evidence=None) -> dict:
    """Items, summary and data of `post.readers` for the job's new server and client posts.
    `log` (a RunContext logger) and `evidence(name, bytes, kind)` are optional."""
    machines = list(dict.fromkeys([job.target, *job.clients.all()]))
    items: list[dict] = []
    per_machine: list[dict] = []
    actions: list[dict] = []
    diagnosed: list[tuple] = []  # (machine, report, files) with a report
    for machine in machines:
        report = ReaderReport.latest_for(machine)
        if report is not None:
            capture.note(
                machine,
                "report",
                "readers.report",
                _json_bytes(report.payload).decode(),
                {"generated_at": report.generated_at.isoformat(), "hostname": report.hostname},
            )
        files = read_machine_files(machine)
        if log is not None:
            log.info(f"{machine.hostname} : {files.note}")
        if evidence is not None and files.galss_bytes is not None:
            evidence(f"galss-{machine.hostname}.ini", files.galss_bytes, "galss_ini")
        if report is None:
            items.append(
                _item(
                    machine,
                    "report",
                    "Rapport de l'agent",
                    FAIL,
                    "Aucun rapport reçu de ce poste : ses lecteurs ne sont pas vérifiés. Y lancer "
                    "l'agent lecteurs (commande affichée sur la page du poste après création "
                    "d'un jeton) ; sans lecteur branché, le rapport le montre aussi.",
                )
            )
            per_machine.append({"machine": machine.hostname, "id": machine.pk, "report": None})
            continue
        if evidence is not None:
            evidence(
                f"lecteurs-{machine.hostname}.json",
                _json_bytes(report.payload),
                "readers_report",
            )
        verdict = diagnose_report(report, files)
        items.append(_report_item(machine, report, files))
        items += [
            _item(machine, i["code"], i["label"], i["status"], i["detail"])
            for i in verdict["items"]
        ]
        for action in verdict["actions"]:
            actions.append({"machine": machine.hostname, **action})
        per_machine.append(
            {
                "machine": machine.hostname,
                "id": machine.pk,
                "report": report.pk,
                "received_at": report.received_at.isoformat(),
                "status": verdict["status"],
                "mode": verdict["mode"],
                "summary": verdict["summary"],
                "readers": reader_rows(report),
            }
        )
        diagnosed.append((machine, report, files))
        if log is not None:
            log.info(f"{machine.hostname} : {verdict['summary']}")

    if not diagnosed:
        items.append(
            _item(
                None,
                "no_report",
                "Rapports des lecteurs",
                FAIL,
                "Aucun poste n'a envoyé de rapport : les lecteurs ne sont pas vérifiés.",
            )
        )
    else:
        items += _cabinet_items(cabinets, diagnosed)

    fails = sum(1 for m in per_machine if m.get("status") == FAIL)
    warns = sum(1 for m in per_machine if m.get("status") == WARN)
    missing = sum(1 for m in per_machine if m["report"] is None)
    summary = (
        f"{len(machines)} poste(s) : {len(diagnosed)} rapport(s) analysé(s), "
        f"{fails} poste(s) non prêt(s), {warns} à vérifier, {missing} sans rapport."
    )
    failing = [i["label"] for i in items if i["status"] == FAIL]
    if failing:
        summary += " À corriger : " + ", ".join(failing[:6]) + ("…" if len(failing) > 6 else ".")
    return {
        "items": items,
        "summary": summary,
        "data": {"machines": per_machine, "actions": actions},
    }


def _cabinet_items(cabinets: list[dict], diagnosed: list[tuple]) -> list[dict]:
    """A cabinet's CPS reader is plugged into one post: the best verdict over the posts."""
    items = []
    for cabinet in cabinets:
        best = None
        for machine, report, files in diagnosed:
            verdict = diagnose_report(report, files, cabinets=[cabinet])
            found = [i for i in verdict["items"] if i["code"] == "cabinet_cps_reader"]
            if not found:
                continue
            item = found[0]
            if best is None or _RANK[item["status"]] < _RANK[best[1]["status"]]:
                best = (machine, item)
        if best is None:
            continue
        machine, item = best
        detail = item["detail"]
        if item["status"] == FAIL and (cabinet.get("cps_reader") or "").strip():
            posts = ", ".join(m.hostname for m, _r, _f in diagnosed)
            detail = (
                f"Le lecteur attribué « {cabinet['cps_reader'].strip()} » n'est prêt sur aucun "
                f"des postes analysés ({posts}). Sur {machine.hostname} : {detail}"
            )
        elif item["status"] != FAIL:
            detail = f"Sur {machine.hostname} : {detail}"
        items.append(_item(None, item["code"], item["label"], item["status"], detail))
    return items


def _json_bytes(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8")
