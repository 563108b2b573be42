"""The cut-over: freeze the old server before the final sync (Julie services stopped, data share
read-only), undo it when the cut-over is postponed (a tool outside the catalogue, added to a job
on first use), and retire the old hosts once the new server holds the data (Julie services
disabled on the old server and on every old services host, so the old SMS sender never sends
again)."""

from julieops.julietree.reader import windows_path
from julieops.remote import NotSupported
from julieops.windows import freeze
from migrations_app.choices import AuditCategory, MachineRole
from migrations_app.execution.machines import transport_for
from migrations_app.steps.common import run_on_each
from migrations_app.steps.registry import Outcome, Step, StepError, register


def _run_script(ctx, script: str, params: dict) -> dict:
    machine = ctx.source
    try:
        transport = transport_for(machine, on_secret=ctx.add_secret)
        return transport.powershell(script, params)
    except NotSupported as exc:
        raise StepError(
            f"{machine.hostname} : PowerShell n'est pas disponible par cet accès ; "
            "à faire à la main sur le poste (arrêter les services Julie, partage en lecture seule)."
        ) from exc


@register
class SourceFreeze(Step):
    key = "cutover.freeze"
    phase = 3
    kind = "auto"
    title = "Geler l'ancien serveur (avant la dernière copie)"
    instructions = (
        "Arrête les services Julie de l'ancien serveur et met en lecture seule le partage qui "
        "contient les données, pour que rien ne s'écrive pendant la dernière passe de la copie "
        "miroir. Julie doit être fermé sur tous les postes. Réversible : « Dégeler » remet les "
        "droits et les services tels qu'ils étaient."
    )
    criteria = "Partage en lecture seule, services arrêtés, ni Julie.exe ni w32mkde.exe ouverts."
    depends_on = ("source.locate",)

    def run(self, ctx):
        root = (ctx.job.discovered_paths or {}).get("julie_root")
        if root is None:
            raise StepError("Lancez d'abord « Localiser les données Julie ».")
        path = windows_path(root)
        ctx.log.info(f"Gel de {ctx.source.hostname} : services Julie et partage de {path}")
        data = _run_script(ctx, freeze.FREEZE, freeze.freeze_params(path, apply=True))
        result = freeze.freeze_verdict(data)
        for entry in result["items"]:
            ctx.log.write(
                "info" if entry["status"] == "ok" else "error",
                f"{entry['label']} : {entry['detail']}",
            )
        ctx.audit(
            "source.freeze",
            AuditCategory.DATA,
            data={"before": {k: data.get(k) for k in ("SharesBefore", "ServicesBefore")},
                  "after": {k: data.get(k) for k in ("Shares", "Services")}},
        )  # fmt: skip
        return Outcome.from_items(result["items"], result["summary"], {"state": data})


@register
class SourceUnfreeze(Step):
    key = "cutover.unfreeze"
    phase = 3
    kind = "auto"
    title = "Dégeler l'ancien serveur"
    instructions = (
        "Remet les droits du partage et redémarre les services tels que le gel les a trouvés "
        "(par exemple si la bascule est reportée)."
    )
    criteria = "Droits et services d'origine rétablis."
    depends_on = ("cutover.freeze",)
    in_catalogue = False

    def run(self, ctx):
        frozen = ctx.job.steps.filter(key=SourceFreeze.key).first()
        state = ((frozen.result if frozen else None) or {}).get("state")
        if not state:
            raise StepError("Aucun gel enregistré sur cette migration : rien à défaire.")
        ctx.log.info(f"Dégel de {ctx.source.hostname}")
        data = _run_script(ctx, freeze.UNFREEZE, freeze.unfreeze_params(state))
        result = freeze.unfreeze_verdict(data, state)
        ctx.audit("source.unfreeze", AuditCategory.DATA, data={"after": data})
        return Outcome.from_items(result["items"], result["summary"], {"state_after": data})


def old_hosts(job) -> list:
    """The old server and every other old host that runs Julie services (SMS host included)."""
    hosts, seen = [job.source], {job.source_id, job.target_id}
    for machine in job.extra_hosts.all():
        roles = set(machine.roles or [])
        if machine.pk not in seen and roles & {MachineRole.SERVICES_HOST, MachineRole.SMS_HOST}:
            seen.add(machine.pk)
            hosts.append(machine)
    return hosts


@register
class RetireOld(Step):
    key = "cutover.retire_old"
    phase = 3
    kind = "auto"
    title = "Retirer l'ancien serveur (services Julie désactivés)"
    instructions = (
        "Une fois les données sur le nouveau serveur : sur l'ancien serveur et sur l'ancien poste "
        "des services (SMS compris), chaque service Julie est arrêté et son démarrage mis à "
        "« Désactivé », puis relu, pour que l'ancien expéditeur de SMS ne puisse plus jamais "
        "envoyer de rappels. Le partage de l'ancien serveur reste en lecture seule. Hypothèse "
        "à confirmer sur le premier cabinet réel : les services Julie sont ceux dont le nom ou "
        "le nom affiché commence par « Julie » ou « Servcle »."
    )
    criteria = "Services Julie désactivés (type de démarrage relu) sur chaque ancien poste."
    depends_on = (
        "data.pxdatas",
        "data.services",
        "data.server_register",
        "data.teletransmission",
        "data.window_layout",
    )

    def run(self, ctx):
        hosts = old_hosts(ctx.job)
        results, failed = run_on_each(ctx, hosts, freeze.RETIRE, freeze.retire_params(apply=True))
        items = list(failed)
        for host, data in results.items():
            items += freeze.retire_verdict(host, data)
        for line in items:
            level = {"ok": "info", "warn": "warning"}.get(line["status"], "error")
            ctx.log.write(level, f"{line['label']} : {line['detail']}")
        ctx.audit(
            "cutover.retire_old",
            AuditCategory.SMS,
            data={host: {"before": d.get("ServicesBefore"), "after": d.get("Services")}
                  for host, d in results.items()},
        )  # fmt: skip
        done = sum(1 for i in items if i["status"] == "ok")
        summary = (
            f"Services Julie désactivés : {done} ; postes : {', '.join(h.hostname for h in hosts)}."
        )
        return Outcome.from_items(items, summary, {"hosts": results})
