"""Phase 2 — prerequisites of the new server and the network.

The checks read every post through PowerShell (`julieops.windows`); the auto steps (share,
firewall, antivirus) then configure only what is missing, unless the run is a dry run."""

from julieops.windows import admin_rights, antivirus, firewall, inventory, network, share
from julieops.windows.verdict import as_list, item, verdict
from migrations_app import user_session
from migrations_app.choices import AuditCategory, MachineRole
from migrations_app.steps.common import (
    data_root,
    julie_exe,
    juliew_path,
    keep_evidence,
    key_host,
    outcome,
    posts,
    run_on_each,
    run_script,
    share_name,
    share_path,
    wants_changes,
)
from migrations_app.steps.registry import Step, StepError, register


def _not_ok(judged: dict) -> list[str]:
    return [i["label"] for i in judged["items"] if i["status"] != "ok"]


@register
class TargetHardware(Step):
    key = "target.hardware"
    phase = 2
    kind = "check"
    title = "Matériel des postes"
    instructions = (
        "Pour chaque poste : processeur de classe i5 ou mieux, mémoire ≥ 4 Go, disque ≥ 500 Go, "
        "carte réseau 1 Gb/s, Windows 10 ou plus récent (32 ou 64 bits)."
    )
    criteria = "Tableau par poste, attention/échec par ligne."

    def run(self, ctx):
        results, failed = run_on_each(ctx, posts(ctx.job), inventory.SCRIPT)
        if results:
            keep_evidence(ctx, "inventaire-materiel.json", results)
        return outcome(ctx, inventory.hardware_verdict(results), failed)


@register
class TargetNetwork(Step):
    key = "target.network"
    phase = 2
    kind = "check"
    title = "Réseau : groupe de travail, NetBIOS, bureau à distance"
    instructions = (
        "Tous les postes dans le même groupe de travail ou domaine (la clé HASP est partagée par "
        "NetBIOS, qui doit être activé sur chaque carte réseau). Wi-Fi et CPL ralentissent Julie. "
        "Une session Bureau à distance active sur le poste de la clé bloque la détection de la "
        "clé HASP (TeamViewer et VNC ne gênent pas)."
    )
    criteria = "Valeurs par poste ; échec si une session Bureau à distance est active."

    def run(self, ctx):
        key = key_host(ctx.job)
        ctx.log.info(f"Poste de la clé HASP : {key}")
        results, failed = run_on_each(ctx, posts(ctx.job), network.SCRIPT)
        if results:
            keep_evidence(ctx, "reseau.json", results)
        return outcome(
            ctx,
            network.network_verdict(results, key, ctx.job.site.workgroup),
            failed,
            {"key_host": key},
        )


@register
class TargetShare(Step):
    key = "target.share"
    phase = 2
    kind = "auto"
    title = "Créer le partage C:\\partage"
    instructions = (
        "Créer C:\\partage sur le nouveau serveur, partagé en contrôle total (autorisations de "
        "partage et NTFS « Tout le monde »). Ne jamais partager seulement Datas. Le chemin des "
        "données ne doit pas contenir d'espaces. Les données sur un NAS sont proscrites. "
        "La liste réelle des partages du serveur est relue : un partage de Datas seul, ou de "
        "Juliew au lieu du dossier qui le contient, est un échec et rien n'est modifié."
    )
    criteria = "Partage présent avec les bons droits ; refus clair si espaces ou NAS."

    def run(self, ctx):
        job, target = ctx.job, ctx.target
        path, name, data = share_path(job), share_name(job), data_root(job)
        params = {"Path": path, "Name": name, "Apply": False}
        state = run_script(ctx, target, share.SCRIPT, params)
        judged = share.share_verdict(state, path, name, data)
        # The data folder itself (below the share) must be acceptable too.
        extra = [
            item("Chemin des données", "fail", problem)
            for problem in share.data_path_problems(data)
            if problem not in {i["detail"] for i in judged["items"]}
        ]
        refused = extra or [
            i
            for i in judged["items"]
            if i["label"] in ("Chemin des données", "Dossier partagé")
            or i.get("code") == share.MISPLACED
        ]
        applied = False
        if refused:
            ctx.log.error("Partage refusé : rien n'est modifié sur " + target.hostname + ".")
        elif judged["status"] != "ok" and wants_changes(ctx):
            before = _not_ok(judged)
            ctx.log.info(f"{target.hostname} : création / correction du partage {path} ({name})")
            state = run_script(ctx, target, share.SCRIPT, {**params, "Apply": True})
            judged = share.share_verdict(state, path, name, data)
            applied = True
            ctx.audit(
                "target.share.apply",
                AuditCategory.CONFIG,
                data={"machine": target.hostname, "path": path, "share": name, "fixed": before},
            )
        keep_evidence(ctx, "partage.json", {target.hostname: state})
        judged = {**judged, "items": [*extra, *judged["items"]]}
        if extra:
            judged["summary"] += " Chemin des données refusé."
        return outcome(ctx, judged, data={"path": path, "share": name, "applied": applied})


@register
class TargetFirewall(Step):
    key = "target.firewall"
    phase = 2
    kind = "auto"
    title = "Règles du pare-feu"
    instructions = (
        "Règles entrantes : serveur de clé 1947, JulieWebServices 8097, JulieOnlineService (SMS) "
        "9001, JulieOnsite 8095, JulieLink 8099, JulieWebApp 8093, JulieWebAgenda 43310, "
        "JulieRDV 8091, JulieTab 8082 et 8765, JulieView 8080 ; autoriser Julie.exe en entrée "
        "et en sortie. Sur le nouveau serveur : toutes les règles ; sur le poste de la clé HASP "
        "s'il est un autre poste : le port 1947 ; sur un poste hébergeant des services (SMS sur "
        "un poste secondaire) : les ports des services. Hypothèse (la procédure ne dit pas quel "
        "poste a besoin de quel port) : à corriger au premier cabinet réel si besoin."
    )
    criteria = "Règles présentes sur chaque poste concerné."

    def run(self, ctx):
        exe = julie_exe(ctx.job)
        items, failed, applied, missing_before = [], [], [], {}
        for machine, ports in firewall_posts(ctx.job):
            ctx.check_cancel()
            prefix = "" if machine.pk == ctx.target.pk else f"{machine.hostname} — "
            try:
                state, judged, missing = self._one(ctx, machine, exe, ports, prefix, applied)
            except StepError as exc:
                if machine.pk == ctx.target.pk:
                    raise
                ctx.log.error(str(exc))
                failed.append(item(f"{machine.hostname} — connexion", "fail", str(exc)))
                continue
            missing_before[machine.hostname] = missing
            items += judged["items"]
            keep_evidence(ctx, f"pare-feu-{machine.hostname}.json", {machine.hostname: state})
        judged = verdict("Pare-feu", items)
        return outcome(
            ctx,
            judged,
            failed,
            {
                "applied": bool(applied),
                "applied_on": applied,
                "missing_before": missing_before.get(ctx.target.hostname, []),
                "missing_before_by_post": missing_before,
            },
        )

    @staticmethod
    def _one(ctx, machine, exe, ports, prefix, applied):
        params = firewall.script_params(exe, ports=ports)
        state = run_script(ctx, machine, firewall.SCRIPT, params)
        judged = firewall.firewall_verdict(state, exe, ports, prefix)
        missing = _not_ok(judged)
        if missing and wants_changes(ctx):
            ctx.log.info(f"{machine.hostname} : ajout des règles manquantes ({', '.join(missing)})")
            apply = firewall.script_params(exe, apply=True, ports=ports)
            state = run_script(ctx, machine, firewall.SCRIPT, apply)
            judged = firewall.firewall_verdict(state, exe, ports, prefix)
            applied.append(machine.hostname)
            ctx.audit(
                "target.firewall.apply",
                AuditCategory.CONFIG,
                data={"machine": machine.hostname, "added": missing},
            )
        return state, judged, missing


def firewall_posts(job) -> list:
    """(machine, ports) of every post that needs firewall rules: the new server (all of them),
    the key host (1947) and the services / SMS hosts that stay in the practice."""
    key = key_host(job)
    result = []
    for machine in posts(job):
        roles = set(machine.roles or [])
        ports = firewall.ports_for(
            data_server=machine.pk == job.target_id,
            key_host=machine.hostname.casefold() == key.casefold(),
            services_host=bool(roles & {MachineRole.SERVICES_HOST, MachineRole.SMS_HOST}),
        )
        if ports:
            result.append((machine, ports))
    return result


@register
class TargetAntivirus(Step):
    key = "target.antivirus"
    phase = 2
    kind = "auto"
    title = "Exclusions de l'antivirus"
    instructions = (
        "Exclure de l'analyse : Juliew\\Julie.exe, Juliew\\w32mkde.exe (Btrieve), "
        "Juliew\\pyxvital\\pyxvital.exe, pyxrss.exe, pyxnet.exe, le dossier C:\\Juliew et le "
        "dossier C:\\partage\\Juliew\\pyxvital."
    )
    criteria = "Exclusions présentes."

    def run(self, ctx):
        target, job = ctx.target, ctx.job
        expected = antivirus.expected_exclusions(juliew_path(job), share_path(job))
        check = {"Processes": [], "Paths": [], "Apply": False}
        state = run_script(ctx, target, antivirus.SCRIPT, check)
        judged = antivirus.antivirus_verdict(state, expected)
        missing = _missing_exclusions(state, expected)
        applied = False
        if (missing["ExclusionProcess"] or missing["ExclusionPath"]) and wants_changes(ctx):
            ctx.log.info(f"{target.hostname} : ajout des exclusions manquantes")
            params = {
                "Processes": missing["ExclusionProcess"],
                "Paths": missing["ExclusionPath"],
                "Apply": True,
            }
            state = run_script(ctx, target, antivirus.SCRIPT, params)
            judged = antivirus.antivirus_verdict(state, expected)
            applied = True
            ctx.audit(
                "target.antivirus.apply",
                AuditCategory.CONFIG,
                data={"machine": target.hostname, "added": missing},
            )
        keep_evidence(ctx, "antivirus.json", {target.hostname: state})
        return outcome(ctx, judged, data={"applied": applied})


@register
class TargetAdminRights(Step):
    key = "target.admin_rights"
    phase = 2
    kind = "check"
    title = "Droits administrateur, mode de compatibilité"
    instructions = (
        "Julie doit s'exécuter avec les droits d'administrateur (Btrieve) ; le mode de "
        "compatibilité doit rester désactivé pour Julie.exe. Les réglages de la machine sont lus "
        "par WinRM ; ceux de l'utilisateur du cabinet par l'agent du poste lancé dans sa "
        "session (sinon : à vérifier). La correction proposée ne porte que sur les réglages de "
        "la machine ; ceux de l'utilisateur se décochent dans Propriétés de Julie → "
        "Compatibilité."
    )
    criteria = "Indicateurs relevés ; correction proposée."

    def run(self, ctx):
        fix = bool((ctx.run.params or {}).get("apply"))
        exe = julie_exe(ctx.job)
        if fix:
            ctx.log.info("Correction demandée : les modes de compatibilité seront retirés.")
        results, failed = run_on_each(
            ctx, posts(ctx.job), admin_rights.SCRIPT, {"JulieExe": exe, "Fix": fix}
        )
        if results:
            keep_evidence(ctx, "droits-julie.json", results)
        sessions = {}
        for machine in posts(ctx.job):
            found = user_session.latest(machine)
            sessions[machine.hostname] = found["session"] if found else None
            if found is None and machine.hostname in results:
                ctx.log.warning(
                    f"{machine.hostname} : réglages de l'utilisateur à vérifier ; "
                    + user_session.how_to_report(machine)
                )
        judged = admin_rights.admin_rights_verdict(results, sessions, exe)
        if fix and results:
            ctx.audit(
                "target.admin_rights.fix",
                AuditCategory.CONFIG,
                data={"machines": sorted(results), "program": exe, "layers": results},
            )
        compat = [i["label"] for i in judged["items"] if "compatibilité" in i["label"]]
        fixable = [i for i in judged["items"] if i["label"] in compat and i["status"] == "fail"]
        return outcome(ctx, judged, failed, {"fix_available": bool(fixable), "fixed": fix})


def _missing_exclusions(state: dict, expected: dict) -> dict:
    """The expected exclusions Defender does not have yet (compared like the verdict)."""
    missing = {}
    for kind, paths in expected.items():
        present = {p.rstrip("\\").lower() for p in as_list((state or {}).get(kind)) if p}
        missing[kind] = [p for p in paths if p.rstrip("\\").lower() not in present]
    return missing
