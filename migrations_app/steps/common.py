"""What the steps share: the job's posts and paths, running a `julieops.windows` script on the
job's Windows machines and turning the verdict into the step's outcome, evidence documents and
manifests, locating Datas and server.register on a tree.

A machine that cannot run PowerShell (the embedded demo's local folders, a Linux host) or cannot
be reached is never passed: it becomes a failed line saying to check it by hand."""

import hashlib
import json

from django.utils import timezone

from julieops.julietree import layout
from julieops.julietree.reader import find_child, join, resolve, windows_path
from julieops.julietree.server_register import (
    is_loopback,
    parse_server_register,
    same_host,
)
from julieops.remote import NotSupported, RemoteError
from julieops.windows.verdict import item
from migrations_app.choices import MachineRole
from migrations_app.execution.machines import machine_named, transport_for
from migrations_app.steps.registry import Outcome, StepError


def posts(job) -> list:
    """The machines that stay in the practice: new server first, other hosts, clients."""
    seen, result = set(), []
    for machine in [job.target, *job.extra_hosts.all(), *job.clients.all()]:
        if machine.pk not in seen and machine.pk != job.source_id:
            seen.add(machine.pk)
            result.append(machine)
    return result


def key_host(job) -> str:
    """The post holding the HASP key: the one with the key-host role, else the new server."""
    for machine in posts(job):
        if MachineRole.KEY_HOST in (machine.roles or []):
            return machine.hostname
    return job.target.hostname


def option(job, name: str, default: str) -> str:
    return (job.options or {}).get(name) or default


def share_path(job) -> str:
    return option(job, "share_path", r"C:\partage")


def share_name(job) -> str:
    return option(job, "share_name", "partage")


def juliew_path(job) -> str:
    """Where Julie is installed on the posts (Julie.exe, w32mkde.exe, pyxvital)."""
    return option(job, "juliew_path", r"C:\Juliew")


def julie_exe(job) -> str:
    return juliew_path(job) + r"\Julie.exe"


def data_root(job) -> str:
    """The Juliew folder holding Datas on the new server, as Windows writes it."""
    root = (job.discovered_paths or {}).get("julie_root")
    return windows_path(root) if root else share_path(job) + r"\Juliew"


def run_script(ctx, machine, script: str, params: dict | None = None):
    """The script's result on one machine; StepError (French) when it cannot be obtained."""
    transport = transport_for(machine, on_secret=ctx.add_secret)
    try:
        return transport.powershell(script, params or {})
    except NotSupported:
        raise StepError(
            f"{machine.hostname} : PowerShell n'est pas disponible par le transport "
            f"« {machine.get_transport_display()} » : à vérifier à la main sur {machine.hostname}."
        ) from None
    except RemoteError as exc:
        raise StepError(
            f"{machine.hostname} : {exc} — à vérifier à la main sur {machine.hostname}."
        ) from None
    finally:
        transport.close()


def run_on_each(ctx, machines, script: str, params: dict | None = None):
    """({hostname: result}, failed items for the machines that gave no result)."""
    results, failed = {}, []
    for machine in machines:
        ctx.check_cancel()
        ctx.log.info(f"{machine.hostname} : lecture en cours…")
        try:
            results[machine.hostname] = run_script(ctx, machine, script, params)
        except StepError as exc:
            ctx.log.error(str(exc))
            failed.append(item(f"{machine.hostname} — connexion", "fail", str(exc)))
    return results, failed


def keep_evidence(ctx, name: str, results: dict) -> None:
    """What the machines answered, kept with the run (the verdict can be re-read later)."""
    content = json.dumps(results, ensure_ascii=False, indent=2, sort_keys=True, default=str)
    ctx.evidence(name, content.encode(), kind="windows-check")


def outcome(ctx, judged: dict, failed: list[dict] = (), data: dict | None = None) -> Outcome:
    """The step's outcome: machines without a result first, then the verdict's lines."""
    items = [*failed, *judged["items"]]
    summary = judged["summary"]
    if failed:
        names = ", ".join(i["label"].split(" — ")[0] for i in failed)
        summary += f" Non vérifié(s) : {names} (à vérifier à la main)."
    for line in judged["items"]:
        if line["status"] != "ok":
            write = ctx.log.error if line["status"] == "fail" else ctx.log.warning
            write(f"{line['label']} : {line['detail']}")
    return Outcome.from_items(items, summary, data or {})


def wants_changes(ctx) -> bool:
    """Auto steps configure what is missing, unless the run asked for a check only."""
    return not (ctx.run.params or {}).get("dry_run")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def target_datas(writer, hostname: str) -> str:
    roots = layout.find_julie_roots(writer.reader)
    datas = find_child(writer.reader, roots[0], "Datas") if roots else None
    if datas is None:
        raise StepError(
            f"Aucun dossier Juliew\\Datas sur {hostname} : lancez d'abord la copie miroir."
        )
    return datas


def compare_manifests(expected: list[dict], actual: list[dict]) -> dict:
    """Paths compare case-insensitively (Windows), contents by SHA-256."""
    want = {e["path"].casefold(): e for e in expected}
    have = {e["path"].casefold(): e for e in actual}
    return {
        "missing": [e for k, e in want.items() if k not in have],
        "changed": [
            {**have[k], "expected_sha256": e["sha256"]}
            for k, e in want.items()
            if k in have and have[k]["sha256"] != e["sha256"]
        ],
        "extras": [e for k, e in have.items() if k not in want],
        "equal": [e for k, e in want.items() if k in have and have[k]["sha256"] == e["sha256"]],
    }


def as_json(data) -> bytes:
    """Evidence documents: stable, readable JSON (accents kept)."""
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode()


def evidence_ref(item) -> dict:
    return {"id": item.pk, "name": item.name, "kind": item.kind, "sha256": item.sha256}


def source_datas(tree, hostname: str) -> str:
    """The Datas folder of a Julie tree (the most recently written one)."""
    roots = layout.find_julie_roots(tree)
    datas = find_child(tree, roots[0], "Datas") if roots else None
    if datas is None:
        raise StepError(
            f"Aucun dossier Juliew\\Datas sur {hostname} : lancez « Localiser les données » "
            "ou indiquez le chemin relevé dans l'écran « à propos » de Julie."
        )
    return datas


def read_register(tree, datas: str):
    """(path, raw bytes, parsed ServerRegister) of Datas\\server.register, or (None, None, None)."""
    path = find_child(tree, datas, "server.register")
    if path is None or tree.is_dir(path):
        return None, None, None
    raw = tree.read_bytes(path)
    return path, raw, parse_server_register(raw)


def host_machine(job, host: str):
    """The job's machine a server.register host names: the old server (also for loopback
    names), another machine of the job, or None when the host is not part of the job."""
    if is_loopback(host) or same_host(host, job.source.hostname):
        return job.source
    if job.source.address and host.casefold() == job.source.address.casefold():
        return job.source
    machine = machine_named(job, host)
    if machine is None:
        for candidate in [*job.extra_hosts.all(), *job.clients.all()]:
            if candidate.address and candidate.address.casefold() == host.casefold():
                return candidate
    return machine


def missing_hosts_message(hosts: list[str]) -> str:
    return (
        f"Poste(s) {', '.join(hosts)} nommé(s) dans server.register mais absent(s) de la "
        "migration : ajoutez-le(s) dans « autres hôtes (services, SMS) » puis relancez."
    )


def manifest_sha256(manifest: list[dict]) -> str:
    """Hash of what a pxdatas manifest proves (paths and contents), independent of mtimes."""
    lines = sorted(f"{e['path'].casefold()}\t{e['size']}\t{e['sha256']}" for e in manifest)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def manifest_document(machine: str, path: str | None, manifest: list[dict], role: str) -> dict:
    return {
        "role": role,
        "machine": machine,
        "path": path,
        "path_windows": windows_path(path) if path else None,
        "taken_at": timezone.now().isoformat(),
        "files": len(manifest),
        "bytes": sum(e["size"] for e in manifest),
        "manifest_sha256": manifest_sha256(manifest),
        "manifest": manifest,
    }


def extras_paths(julie_root: str) -> list[tuple[str, str, str]]:
    """(key, label, path) of the files the procedure carries besides the data folders."""
    return [
        ("internet_par", "Internet.par", join(julie_root, "Pyxvital/Internet.par")),
        ("julieprf_ini", "Julieprf.ini", "Windows/Julieprf.ini"),
    ]


def file_info(tree, path: str) -> dict:
    found = resolve(tree, path)
    if not found or tree.is_dir(found):
        return {"path": path, "present": False, "size": None, "sha256": None}
    data = tree.read_bytes(found)
    return {
        "path": found,
        "present": True,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def pyxvital_candidates(job, found_roots: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(drive, Juliew folder) of every Julie folder whose Pyxvital Julie may use: the data's
    Juliew, the program folder on the posts (option juliew_path, C:\\Juliew by default) and
    every other installation found; in that order, without repeats."""
    paths = job.discovered_paths or {}
    result = []
    if paths.get("julie_root") is not None:
        result.append((paths.get("julie_drive") or "C:", paths["julie_root"]))
    program = layout.parse_drive_path(juliew_path(job))
    if program:
        result.append(program)
    for text in paths.get("installations") or []:
        found = layout.parse_drive_path(text)
        if found:
            result.append(found)
    result += found_roots
    seen, unique = set(), []
    for drive, root in result:
        key = (drive.upper(), root.casefold())
        if key not in seen:
            seen.add(key)
            unique.append((drive, root))
    return unique
