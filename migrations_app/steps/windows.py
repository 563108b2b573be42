"""What the phase 2, 4 and 5 steps share: running a `julieops.windows` script on the job's
Windows machines and turning the verdict into the step's outcome.

A machine that cannot run PowerShell (the embedded demo's local folders, a Linux host) or cannot
be reached is never passed: it becomes a failed line saying to check it by hand."""

import json

from julieops.julietree.reader import windows_path
from julieops.remote import NotSupported, RemoteError
from julieops.windows.verdict import item
from migrations_app.choices import MachineRole
from migrations_app.execution.machines import transport_for
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
