"""Phase 4 — installation (guided)."""

import re

from julieops.windows import clients, install
from julieops.windows.verdict import as_list, item, verdict
from migrations_app.choices import AuditCategory
from migrations_app.steps.common import (
    data_root,
    juliew_path,
    keep_evidence,
    key_host,
    option,
    outcome,
    posts,
    run_on_each,
    run_script,
    share_name,
    share_path,
    wants_changes,
)
from migrations_app.steps.registry import Step, StepError, register


@register
class InstallServer(Step):
    key = "install.server"
    phase = 4
    kind = "manual"
    title = "Installer Julie sur le serveur"
    instructions = (
        "Lancer l'installation depuis le CD livré avec la clé (il copie le fichier de licence dans "
        "Datas). « Emplacement des fichiers » doit pointer sur le dossier datas lui-même ; les "
        "emplacements des radios et images pointent sur le dossier qui contient XRAY / IMAGES. "
        "Serveur de clé « installé » uniquement sur le poste où la clé est branchée."
    )
    criteria = "Coché par le technicien avec une note ; puis vérification de l'installation."
    depends_on = ("cutover.retire_old",)


@register
class InstallVerify(Step):
    key = "install.verify"
    phase = 4
    kind = "check"
    title = "Vérifier l'installation"
    instructions = (
        "Julie.exe présent ; chemin des données configuré ; serveur de clé (Servcle.exe) lancé et "
        "port 1947 à l'écoute sur le poste de la clé seulement."
    )
    criteria = "Tout est présent."
    depends_on = ("install.server",)

    def run(self, ctx):
        job = ctx.job
        key = key_host(job)
        client_names = {c.hostname for c in ctx.clients}
        results, failed = run_on_each(ctx, posts(job), install.SCRIPT, {"Juliew": juliew_path(job)})
        if results:
            keep_evidence(ctx, "installation.json", results)
        judged = install.install_verdict(results, key)
        # Julie is installed on the clients by the next step: here they only must not run a
        # key server of their own.
        lines = [
            line
            for line in judged["items"]
            if not (line["label"].split(" — ")[0] in client_names and "Julie.exe" in line["label"])
        ]
        judged = verdict("Vérification de l'installation", lines)
        return outcome(ctx, judged, failed, {"key_host": key})


@register
class InstallClients(Step):
    key = "install.clients"
    phase = 4
    kind = "auto"
    title = "Installer les postes clients"
    instructions = (
        "Sur chaque poste client : connecter un lecteur réseau sur la racine du partage du serveur "
        "(le dossier qui contient Juliew, jamais Juliew ni datas), ou indiquer le chemin UNC "
        "(\\\\serveur\\c\\juliew\\datas) ; vérifier l'accès. L'installation peut redémarrer le "
        "poste (correctif Windows 10). Erreur 0xBD1 : contacter le service client."
    )
    criteria = "Chaque client atteint le chemin des données."
    depends_on = ("install.verify",)

    def run(self, ctx):
        return point_clients(ctx)


def client_data_path(job) -> tuple[str, str]:
    """(share root, data path) as a client sees them: \\SERVER\\partage and
    \\SERVER\\partage\\Juliew. The data must live inside the shared folder."""
    server, share = job.target.hostname, share_name(job)
    root = rf"\\{server}\{share}"
    data, shared = data_root(job), share_path(job).rstrip("\\")
    if not data.lower().startswith(shared.lower() + "\\"):
        raise StepError(
            f"Les données ({data}) ne sont pas dans le dossier partagé {shared} : les postes "
            "clients ne pourraient pas les atteindre. Corrigez les chemins du dossier."
        )
    return root, root + data[len(shared) :]


def _to_remap(state: dict, server: str, old_server: str | None, default: str) -> list[str]:
    """Drive letters to (re)map onto the server's share root: those pointing at the old
    server or too deep (Juliew, Datas); the default letter when none points at the server."""
    maps = [
        (m.get("Name") or m.get("LocalPath"), m.get("ProviderName") or m.get("RemotePath") or "")
        for m in as_list(state.get("Mappings")) + as_list(state.get("SmbMappings"))
    ]

    def host(unc):
        found = re.match(r"^\\\\([^\\]+)", unc)
        return found.group(1).lower() if found else ""

    letters, good = [], False
    for letter, remote in maps:
        if host(remote) == server.lower():
            if re.search(r"\\(juliew|datas)\\?$", remote, re.I):
                letters.append(letter)
            else:
                good = True
        elif old_server and host(remote) == old_server.lower():
            letters.append(letter)
    if not good and not letters:
        letters.append(default)
    return sorted({letter.upper() for letter in letters if letter})


def point_clients(ctx, *, old_server: str | None = None):
    """install.clients / post.clients_repoint: each client maps the server's share root (or
    reaches the UNC data path) and reaches Datas; what is missing or stale is fixed."""
    job = ctx.job
    server = job.target.hostname
    root, data_path = client_data_path(job)
    default = option(job, "client_drive", "J:")
    ctx.log.info(f"Racine du partage : {root} ; chemin des données : {data_path}")
    results, failed, remapped = {}, [], {}
    for client in ctx.clients:
        ctx.check_cancel()
        name = client.hostname
        try:
            state = run_script(ctx, client, clients.SCRIPT, {"DataPath": data_path})
            judged = clients.clients_verdict({name: state}, server, old_server)
            if judged["status"] != "ok" and wants_changes(ctx):
                letters = _to_remap(state, server, old_server, default)
                for letter in letters:
                    ctx.log.info(f"{name} : lecteur {letter} connecté à {root}")
                    run_script(ctx, client, clients.MAP_DRIVE, {"Letter": letter, "Root": root})
                if letters:
                    remapped[name] = letters
                    ctx.audit(
                        f"{ctx.step.key}.map_drive",
                        AuditCategory.CONFIG,
                        data={"machine": name, "letters": letters, "root": root},
                    )
                    state = run_script(ctx, client, clients.SCRIPT, {"DataPath": data_path})
            results[name] = state
        except StepError as exc:
            ctx.log.error(str(exc))
            failed.append(item(f"{name} — connexion", "fail", str(exc)))
    if results:
        keep_evidence(ctx, "postes-clients.json", results)
    judged = clients.clients_verdict(results, server, old_server)
    if not ctx.clients:
        judged = verdict("Postes clients", [])
    return outcome(
        ctx, judged, failed, {"root": root, "data_path": data_path, "remapped": remapped}
    )
