"""Cut-over tools outside the vendor's catalogue: freeze the old server before the final
sync (Julie services stopped, data share read-only), and undo it. Created on demand on a job
(`actions.freeze_source`), audited, reversible."""

from julieops.julietree.reader import windows_path
from julieops.remote import NotSupported
from julieops.windows import freeze

from ..choices import AuditCategory
from ..connections import transport_for
from .registry import Outcome, Step, StepError, register


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
    in_catalogue = False

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
