"""The cut-over: freeze the old server before the final sync (Julie services stopped, data share
read-only), undo it when the cut-over is postponed (a tool outside the catalogue, added to a job
on first use), and retire the old hosts once the new server holds the data (Julie services
disabled on the old server and on every old services host, so the old SMS sender never sends
again).

A post the freeze cannot reach fails it (nothing proves Julie is closed there) unless a person
confirms, with a reason, that it is off or has Julie closed. Before retiring, the old data share
is read back and must still be read-only. Assumption (no vendor fact): "read-only" is judged on
the share permissions (Get-SmbShareAccess: every Allow entry at Read), the ones the freeze
changes; NTFS rights are not read."""

from julieops.julietree.layout import drive_path
from julieops.windows import freeze
from julieops.windows.verdict import item
from migrations_app.choices import AuditCategory, MachineRole, RunStatus, StepStatus, Transport
from migrations_app.steps.common import run_on_each, run_script
from migrations_app.steps.registry import Outcome, Step, StepError, register

# The cut-over's place in time: the final mirror pass, the pxdatas proof and the services copy
# count only after a freeze that still holds (not undone by a later unfreeze). The latest
# freeze is the one in force: a freeze redone (after an unfreeze, or again) or an unfreeze
# sends the steps that count only after it back to to-do (Step.restarts, status.restart_after).
FREEZE_KEY, UNFREEZE_KEY = "cutover.freeze", "cutover.unfreeze"
AFTER_FREEZE = ("data.mirror", "data.pxdatas", "data.server_register", "data.services")
_DONE_RUN = (RunStatus.PASSED, RunStatus.WARNING)


def last_success(job, key: str):
    """When `key` last succeeded on the job: its latest passed/warned real run, or its tick."""
    step = job.steps.filter(key=key).first()
    if step is None:
        return None
    if step.status == StepStatus.DONE:
        return step.done_at
    if step.status not in (StepStatus.PASSED, StepStatus.WARNING):
        return None
    runs = step.runs.filter(status__in=_DONE_RUN).order_by("-finished_at")
    run = next((r for r in runs if not (r.params or {}).get("dry_run")), None)
    return run.finished_at if run else None


def frozen_at(job):
    """When the freeze in force was made (None when the old hosts are not frozen)."""
    frozen = last_success(job, FREEZE_KEY)
    if frozen is None:
        return None
    thawed = last_success(job, UNFREEZE_KEY)
    return None if thawed is not None and thawed > frozen else frozen


def data_path(job) -> str:
    """The old server's Julie root as Windows writes it, on the drive source.locate found."""
    paths = job.discovered_paths or {}
    return drive_path(paths.get("julie_drive") or "C:", paths["julie_root"])


def require_frozen(ctx, what: str):
    """StepError unless the freeze holds; returns its time."""
    at = frozen_at(ctx.job)
    if at is None:
        raise StepError(
            f"{what} se fait après le gel : lancez d'abord « {SourceFreeze.title} » "
            "(ou cochez-le une fois fait à la main)."
        )
    return at


BY_HAND = (
    "à faire à la main sur chaque poste : fermer Julie partout, arrêter le moteur Btrieve "
    "(w32mkde.exe) et les services Julie de l'ancien serveur et du poste des services (SMS "
    "compris), passer le partage des données en lecture seule ; puis cocher l'étape avec une note "
    "qui dit l'état trouvé."
)


# A post the freeze cannot reach: nothing proves Julie is closed there. A person may confirm,
# with a reason, that it is off or has Julie closed; the confirmation serves one freeze (the
# freeze that goes ahead on it uses it up: a later freeze needs a new look at the post).
CONFIRMED_KEY = "freeze_confirmed_posts"


def open_confirmations(job) -> dict:
    """{hostname: confirmation} not used by a freeze yet."""
    found = (job.options or {}).get(CONFIRMED_KEY) or {}
    return {host: c for host, c in found.items() if not c.get("used_by_run")}


def confirm_post_closed(job, user, hostname: str, reason: str) -> dict:
    """A person confirms that a post of the job the freeze cannot reach is off, or has Julie
    and w32mkde.exe closed: recorded on the job (who, when, why) and audited."""
    from django.db import transaction
    from django.utils.translation import gettext as _

    from migrations_app import audit
    from migrations_app.actions import ActionRefused, decided_by, required_text
    from migrations_app.models import MigrationJob

    if not user.has_perm("migrations_app.run_step"):
        raise ActionRefused(_("You may not change this job."), 403)
    reason = required_text(reason, _("A written reason is required."))
    with transaction.atomic():
        job = MigrationJob.objects.select_for_update().get(pk=job.pk)
        names = {m.hostname: m for m in freeze_posts(job)}
        machine = names.get((hostname or "").strip())
        if machine is None:
            raise ActionRefused(_("This post is not part of the job."), 400)
        record = decided_by(user, reason[:2000])
        options = dict(job.options or {})
        options[CONFIRMED_KEY] = {**(options.get(CONFIRMED_KEY) or {}), machine.hostname: record}
        job.options = options
        job.save(update_fields=["options", "updated_at"])
        audit.record(
            "cutover.post_confirmed_closed",
            category=AuditCategory.DATA,
            actor=user,
            job=job,
            target=machine.hostname,
            reason=record["reason"],
            data={"post": machine.hostname},
        )
    return record


def _use_confirmations(ctx, hosts: list[str]) -> None:
    """The confirmations this freeze relied on are used up (kept, with the run that used them)."""
    if not hosts:
        return
    job = ctx.job
    job.refresh_from_db(fields=["options"])
    options = dict(job.options or {})
    found = dict(options.get(CONFIRMED_KEY) or {})
    for host in hosts:
        if host in found:
            found[host] = {**found[host], "used_by_run": ctx.run.pk}
    options[CONFIRMED_KEY] = found
    job.options = options
    job.save(update_fields=["options", "updated_at"])


def freeze_posts(job) -> list:
    """Every post the freeze must see closed: the old hosts, then the client posts."""
    hosts = old_hosts(job)
    return hosts + [c for c in job.clients.all() if c.pk not in {h.pk for h in hosts}]


@register
class SourceFreeze(Step):
    key = FREEZE_KEY
    phase = 3
    kind = "auto"
    title = "Geler l'ancien serveur (avant la dernière copie)"
    instructions = (
        "Le début de la bascule. Vérifie d'abord que Julie et w32mkde.exe sont fermés sur chaque "
        "poste de la migration (sinon l'étape échoue en nommant le poste, sans rien changer) ; un "
        "poste injoignable fait échouer le gel, sauf si une personne confirme, avec un motif, "
        "qu'il est éteint ou Julie fermé (« Confirmer un poste fermé » ; la confirmation sert "
        "pour un gel) ; puis, sur l'ancien serveur et sur chaque poste des services (SMS compris), "
        "arrête les services Julie, et met en lecture seule le partage qui contient les données. "
        "L'état trouvé est enregistré : « Dégeler » (décision d'un superviseur, avec un motif) le "
        "remet si la bascule est reportée. Un gel refait (ou un dégel) annule la passe finale de "
        "la copie miroir et ce qui la suit (pxdatas, server.register, données des services) : "
        "à refaire après le nouveau gel. Sur une machine « locale » (démo), à faire à la main. "
        "Hypothèse à confirmer sur le premier cabinet réel : les services Julie sont ceux dont le "
        "nom ou le nom affiché commence par « Julie » ou « Servcle »."
    )
    criteria = "Partage en lecture seule, services arrêtés, ni Julie.exe ni w32mkde.exe ouverts."
    depends_on = ("source.locate", "source.server_register")
    restarts = AFTER_FREEZE

    def run(self, ctx):
        job = ctx.job
        root = (job.discovered_paths or {}).get("julie_root")
        if root is None:
            raise StepError("Lancez d'abord « Localiser les données Julie ».")
        hosts = old_hosts(job)
        posts = freeze_posts(job)
        if all(m.transport == Transport.LOCAL for m in posts):
            raise StepError(f"Machines locales (démo) : {BY_HAND}")
        # 1. Nothing is changed while Julie is open somewhere, or may be (a post not reached
        #    and not confirmed off or closed by a person).
        items, confirmed, relied, unreached = [], open_confirmations(job), [], []
        for machine in posts:
            label = f"{machine.hostname} : programmes"
            try:
                found = run_script(ctx, machine, freeze.OPEN_PROGRAMS, freeze.programs_params())
            except StepError as exc:
                record = confirmed.get(machine.hostname)
                if record:
                    relied.append(machine.hostname)
                    detail = (
                        f"injoignable ({exc}) ; éteint ou Julie fermé, confirmé par "
                        f"{record['by']} le {record['at'][:16].replace('T', ' à ')} : "
                        f"{record['reason']}"
                    )
                    ctx.log.warning(f"{label} : {detail}")
                    items.append(item(label, "warn", detail))
                    continue
                unreached.append(machine.hostname)
                items.append(
                    item(
                        label,
                        "fail",
                        f"injoignable ({exc}) : rien ne prouve que Julie et w32mkde.exe y sont "
                        "fermés. Allumez ce poste et relancez le gel, ou, s'il est éteint ou "
                        "Julie fermé, faites-le confirmer (« Confirmer un poste fermé », avec un "
                        "motif) puis relancez",
                    )
                )
                continue
            names = freeze.open_programs(found)
            if names:
                items.append(
                    item(
                        label,
                        "fail",
                        f"{', '.join(names)} encore ouvert(s) : fermer Julie sur ce poste",
                    )
                )
        blocking = [i for i in items if i["status"] == "fail"]
        if blocking:
            for line in blocking:
                ctx.log.error(f"{line['label']} : {line['detail']}")
            opened = [
                i["label"].split(" : ")[0]
                for i in blocking
                if i["label"].split(" : ")[0] not in unreached
            ]
            parts = []
            if opened:
                parts.append(f"Julie est encore ouvert sur {', '.join(opened)}")
            if unreached:
                parts.append(
                    f"{', '.join(unreached)} injoignable(s), Julie fermé non prouvé (à allumer, "
                    "ou à faire confirmer éteint ou fermé)"
                )
            return Outcome(
                "failed", f"Gel refusé, rien n'a été changé : {' ; '.join(parts)}.", items
            )
        _use_confirmations(ctx, relied)
        # 2. The old server (data share + services) and every services host (services).
        path = data_path(job)
        states = {}
        for machine in hosts:
            on_data = machine.pk == job.source_id
            ctx.log.info(
                f"Gel de {machine.hostname} : services Julie"
                + (f" et partage de {path}" if on_data else "")
            )
            params = freeze.freeze_params(path if on_data else "", apply=True)
            try:
                data = run_script(ctx, machine, freeze.FREEZE, params)
            except StepError as exc:
                ctx.log.error(str(exc))
                items.append(item(f"{machine.hostname} : gel", "fail", f"{exc} ({BY_HAND})"))
                continue
            states[machine.hostname] = data
            judged = freeze.freeze_verdict(data, machine.hostname, data_share=on_data)
            items += judged["items"]
        for entry in items:
            level = {"ok": "info", "warn": "warning"}.get(entry["status"], "error")
            ctx.log.write(level, f"{entry['label']} : {entry['detail']}")
        ctx.audit(
            "source.freeze",
            AuditCategory.DATA,
            data={**{host: {"before": {k: d.get(k) for k in ("SharesBefore", "ServicesBefore")},
                            "after": {k: d.get(k) for k in ("Shares", "Services")}}
                     for host, d in states.items()},
                  "posts_confirmed_closed": {h: confirmed[h] for h in relied}},
        )  # fmt: skip
        outcome = Outcome.from_items(
            items,
            "",
            {
                "state": {"hosts": states},
                "posts_confirmed_closed": {h: confirmed[h] for h in relied},
            },
        )
        frozen = ", ".join(states) or "aucun poste"
        outcome.summary = (
            f"Ancien serveur gelé ({frozen}) : services Julie arrêtés, partage en lecture seule."
            if outcome.status != "failed"
            else "Gel incomplet : "
            + " ; ".join(i["label"] for i in items if i["status"] == "fail")
            + "."
        )
        return outcome


def _frozen_states(job) -> dict:
    """{hostname: FREEZE result} of the freeze in force (older single-host results too)."""
    frozen = job.steps.filter(key=FREEZE_KEY).first()
    state = ((frozen.result if frozen else None) or {}).get("state") or {}
    if "hosts" in state:
        return state["hosts"] or {}
    return {job.source.hostname: state} if state else {}


@register
class SourceUnfreeze(Step):
    key = UNFREEZE_KEY
    phase = 3
    kind = "auto"
    title = "Dégeler l'ancien serveur"
    instructions = (
        "Décision d'un superviseur, avec un motif (par exemple une bascule reportée) : remet les "
        "droits du partage et redémarre les services tels que le gel les a trouvés, sur chaque "
        "poste gelé. Refusé une fois l'ancien serveur retiré."
    )
    criteria = "Droits et services d'origine rétablis."
    depends_on = (FREEZE_KEY,)
    in_catalogue = False
    restarts = AFTER_FREEZE

    def run(self, ctx):
        states = _frozen_states(ctx.job)
        if not states:
            raise StepError("Aucun gel enregistré sur cette migration : rien à défaire.")
        machines = {m.hostname: m for m in old_hosts(ctx.job)}
        items, after = [], {}
        for host, state in states.items():
            machine = machines.get(host)
            if machine is None:
                items.append(
                    item(host, "fail", "poste retiré de la migration : à dégeler à la main")
                )
                continue
            ctx.log.info(f"Dégel de {host}")
            try:
                data = run_script(ctx, machine, freeze.UNFREEZE, freeze.unfreeze_params(state))
            except StepError as exc:
                items.append(item(f"{host} : dégel", "fail", str(exc)))
                continue
            after[host] = data
            judged = freeze.unfreeze_verdict(data, state)
            items += [{**i, "label": f"{host} : {i['label']}"} for i in judged["items"]]
        ctx.audit("source.unfreeze", AuditCategory.DATA, data={"after": after})
        outcome = Outcome.from_items(items, "", {"state_after": after})
        outcome.summary = (
            "Dégel fait : droits et services d'origine rétablis."
            if outcome.status != "failed"
            else "Dégel incomplet : "
            + " ; ".join(i["label"] for i in items if i["status"] == "fail")
            + "."
        )
        return outcome


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
        "envoyer de rappels. Le partage de l'ancien serveur reste en lecture seule : il est relu "
        "d'abord (autorisations du partage, pas les droits NTFS), et s'il est de nouveau "
        "modifiable l'étape échoue sans rien désactiver. Hypothèse "
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
        if all(m.transport == Transport.LOCAL for m in hosts):
            raise StepError(
                "Machines locales (démo) : à faire à la main sur l'ancien serveur et sur l'ancien "
                "poste des services (SMS compris) : chaque service Julie arrêté et son démarrage "
                "mis à « Désactivé » (services.msc), le partage laissé en lecture seule ; puis "
                "cocher l'étape avec une note qui dit le type de démarrage relu."
            )
        # The old share first: still read-only as the freeze left it, or nothing is disabled.
        shares = self._shares_still_read_only(ctx)
        if any(i["status"] == "fail" for i in shares):
            for line in shares:
                level = {"ok": "info", "warn": "warning"}.get(line["status"], "error")
                ctx.log.write(level, f"{line['label']} : {line['detail']}")
            bad = [i for i in shares if i["status"] == "fail"]
            ctx.audit(
                "cutover.retire_old.refused",
                AuditCategory.SMS,
                data={"shares": [{k: i[k] for k in ("label", "status", "detail")} for i in shares]},
            )
            return Outcome(
                "failed",
                "Retrait refusé, aucun service n'a été désactivé : "
                + " ; ".join(f"{i['label']} {i['detail']}" for i in bad)
                + ".",
                shares,
            )
        results, failed = run_on_each(ctx, hosts, freeze.RETIRE, freeze.retire_params(apply=True))
        items = shares + list(failed)
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
        done = sum(1 for i in items if i["status"] == "ok" and " : service " in i["label"])
        summary = (
            f"Services Julie désactivés : {done} ; postes : {', '.join(h.hostname for h in hosts)}."
        )
        return Outcome.from_items(items, summary, {"hosts": results, "shares": shares})

    @staticmethod
    def _shares_still_read_only(ctx) -> list[dict]:
        """The old server's data shares read back (FREEZE without Apply changes nothing)."""
        source = ctx.job.source
        root = (ctx.job.discovered_paths or {}).get("julie_root")
        if root is None:
            raise StepError("Lancez d'abord « Localiser les données Julie ».")
        params = freeze.freeze_params(data_path(ctx.job), apply=False)
        try:
            data = run_script(ctx, source, freeze.FREEZE, params)
        except StepError as exc:
            return [item(f"{source.hostname} : partage des données", "fail", str(exc))]
        return freeze.share_read_only_verdict(source.hostname, data)
