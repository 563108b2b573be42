"""Phase 4 — installation (guided)."""

from django.utils import timezone

from julieops.julietree.layout import drive_path
from julieops.julietree.reader import windows_path
from julieops.windows import clients, install
from julieops.windows.verdict import item, verdict
from migrations_app import user_session
from migrations_app.steps.common import (
    data_root,
    juliew_path,
    keep_evidence,
    key_host,
    option,
    outcome,
    posts,
    run_on_each,
    share_name,
    share_path,
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
        "Julie.exe présent ; chemin des données configuré ; serveur de clé (Servcle.exe) lancé "
        "sur le poste de la clé seulement (le port 1947 seul ne prouve rien : le gestionnaire de "
        "licences Sentinel l'écoute aussi sur les postes clients). Les chemins des données et de "
        "l'imagerie configurés dans Julie sont relus et comparés aux chemins migrés. "
        "Hypothèse (la procédure ne dit pas où Julie garde ses chemins) : dans le registre "
        "HKLM\\SOFTWARE\\[WOW6432Node\\]Julie Solutions\\Julie ou un fichier Julie.ini "
        "(dans Juliew ou C:\\Windows) ; s'ils n'y sont pas, les vérifier dans l'écran "
        "« à propos » de Julie."
    )
    criteria = "Tout est présent ; chemins configurés égaux aux chemins migrés."
    depends_on = ("install.server",)

    def run(self, ctx):
        job = ctx.job
        key = key_host(job)
        client_names = {c.hostname for c in ctx.clients}
        data_path, imaging = migrated_paths(job)
        ctx.log.info(f"Chemins migrés : données {data_path} ; imagerie {', '.join(imaging)}")
        results, failed = run_on_each(
            ctx, posts(job), install.SCRIPT, install.script_params(juliew_path(job))
        )
        if results:
            keep_evidence(ctx, "installation.json", results)
        judged = install.install_verdict(results, key, data_path, imaging, job.target.hostname)
        # Julie is installed on the clients by the next step: here they only must not run a
        # key server of their own.
        lines = [
            line
            for line in judged["items"]
            if not (line["label"].split(" — ")[0] in client_names and "Julie.exe" in line["label"])
        ]
        judged = verdict("Vérification de l'installation", lines)
        return outcome(
            ctx,
            judged,
            failed,
            {"key_host": key, "data_path": data_path, "imaging_paths": imaging},
        )


def migrated_paths(job) -> tuple[str, list[str]]:
    """(Datas folder, folders holding XRAY / IMAGE) on the new server, as Windows writes them:
    the mirror keeps each root at the same place as on the old server."""
    paths = job.discovered_paths or {}
    root = data_root(job)
    imaging = [windows_path(r) for r in paths.get("imaging_roots") or []]
    # Imaging on another drive of the old server is copied to that drive of the new one.
    for place in paths.get("imaging_locations") or []:
        shown = drive_path(place.get("drive") or "C:", place.get("path") or "")
        if shown.casefold() not in {i.casefold() for i in imaging}:
            imaging.append(shown)
    return root + "\\Datas", imaging or [root]


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
        "poste (correctif Windows 10). Erreur 0xBD1 : contacter le service client. "
        "Les lecteurs sont ceux de la session de l'utilisateur du cabinet, relevés par l'agent "
        "du poste lancé dans cette session (jamais par WinRM, qui a sa propre session) ; rien "
        "n'est modifié : la commande à taper dans la session est indiquée. Hypothèse : Julie "
        "lancé en administrateur ne voit les lecteurs de l'utilisateur qu'avec "
        "EnableLinkedConnections à 1."
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


def point_clients(ctx, *, old_server: str | None = None):
    """install.clients / post.clients_repoint: each client maps the server's share root (the
    folder containing Juliew) and reaches Datas through it, as the practice user's own session
    shows it: the latest report of the post agent run in that session. A WinRM logon session
    has drives of its own and cannot reach another host's share (the double hop): it is never
    used to read or create mappings. Nothing is changed on the posts: what is wrong comes with
    the command to type in the user's session."""
    job = ctx.job
    server = job.target.hostname
    root, data_path = client_data_path(job)
    default = option(job, "client_drive", "J:")
    ctx.log.info(f"Racine du partage : {root} ; chemin des données : {data_path}")
    items, sessions = [], {}
    for client in ctx.clients:
        ctx.check_cancel()
        name = client.hostname
        found = user_session.latest(client)
        if found is None:
            line = item(
                f"{name} — session de l'utilisateur",
                "warn",
                "aucun rapport de la session de l'utilisateur : à vérifier ; "
                + user_session.how_to_report(client),
            )
            ctx.log.warning(f"{line['label']} : {line['detail']}")
            items.append(line)
            continue
        session = found["session"]
        when = timezone.localtime(found["received_at"]).strftime("%d/%m/%Y %H:%M")
        ctx.log.info(f"{name} : session de {session['user']} relevée le {when}")
        sessions[name] = {"received_at": found["received_at"].isoformat(), **session}
        judged = clients.clients_verdict({name: session_state(session, server)}, server, old_server)
        items += judged["items"]
        if judged["status"] != "ok":
            items.append(
                item(
                    f"{name} — à faire dans la session de l'utilisateur",
                    "fail",
                    f"connecter le lecteur : net use {default} {root} /persistent:yes "
                    f"(ou indiquer {data_path}\\Datas en UNC dans l'installation de Julie)",
                )
            )
        items.append(clients.linked_connections_item(name, session))
    if sessions:
        keep_evidence(ctx, "postes-clients-sessions.json", sessions)
    judged = verdict("Postes clients", items)
    return outcome(ctx, judged, [], {"root": root, "data_path": data_path, "sessions": sessions})


def session_state(session: dict, server: str) -> dict:
    """The agent's drives in the shape `clients_verdict` reads; Datas is reached when a drive
    mapped on the server shows a Datas folder."""
    mappings = [
        {"Name": d["letter"], "ProviderName": d["remote"]} for d in session["drive_mappings"]
    ]
    reachable = any(
        clients.host_of(d["remote"]) == server.lower() and d["reachable"] and d["datas"]
        for d in session["drive_mappings"]
    )
    return {"Mappings": mappings, "Reachable": reachable}
