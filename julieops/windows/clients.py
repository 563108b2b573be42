"""`install.clients` and `post.clients_repoint`: each client maps the server's share root (the
folder containing Juliew, never Juliew or Datas) or uses a UNC data path, and reaches Datas.

The mappings judged are those of the practice user's own session, as the post agent reports
them (`readers.agent.session`): a WinRM logon session has drives of its own, and cannot reach
another host's share (the double hop), so nothing here runs through WinRM.

Assumption (the procedure says Julie must run as administrator, and that the Windows 10 patch
lets applications reach network drives): an elevated Julie sees drives mapped in the user's
unelevated session only when `EnableLinkedConnections` is 1; without it the UNC path is the
way."""

from __future__ import annotations

import re

from julieops.windows.verdict import as_list, item, verdict


def host_of(unc: str) -> str:
    match = re.match(r"^\\\\([^\\]+)", unc or "")
    return match.group(1).lower() if match else ""


def clients_verdict(machines: dict[str, dict], server: str, old_server: str | None = None) -> dict:
    """machines: {client post: result of SCRIPT}; server: the new server's name."""
    items = []
    for name, data in machines.items():
        maps = [
            (m.get("Name") or m.get("LocalPath"), m.get("ProviderName") or m.get("RemotePath"))
            for m in as_list(data.get("Mappings")) + as_list(data.get("SmbMappings"))
        ]
        to_server = [(d, p) for d, p in maps if host_of(p) == server.lower()]
        for drive, remote in to_server:
            too_deep = re.search(r"\\(juliew|datas)\\?$", remote, re.I)
            items.append(
                item(
                    f"{name} — lecteur {drive}",
                    "fail" if too_deep else "ok",
                    f"{remote}"
                    + (
                        " : doit pointer sur le dossier qui contient Juliew, pas "
                        "sur Juliew ni Datas"
                        if too_deep
                        else ""
                    ),
                )
            )
        if old_server:
            stale = [(d, p) for d, p in maps if host_of(p) == old_server.lower()]
            for drive, remote in stale:
                items.append(
                    item(
                        f"{name} — lecteur {drive}",
                        "fail",
                        f"pointe encore sur l'ancien serveur ({remote})",
                    )
                )
        reachable = bool(data.get("Reachable"))
        items.append(
            item(
                f"{name} — accès à Datas",
                "ok" if reachable else "fail",
                "Datas accessible" if reachable else "Datas inaccessible depuis ce poste",
            )
        )
    return verdict("Postes clients", items)


def linked_connections_item(name: str, session: dict) -> dict:
    """Whether an elevated Julie sees the drives mapped in the user's session."""
    linked = session.get("enable_linked_connections")
    label = f"{name} — EnableLinkedConnections"
    if linked is True:
        return item(label, "ok", "activé : Julie lancé en administrateur voit les lecteurs réseau")
    if linked is None:
        return item(label, "warn", "non lu dans la session de l'utilisateur : à vérifier")
    if not session.get("drive_mappings"):
        return item(label, "ok", "désactivé ; aucun lecteur réseau (chemin UNC)")
    return item(
        label,
        "warn",
        "désactivé : Julie lancé en administrateur ne verra pas les lecteurs réseau de "
        "l'utilisateur ; activer EnableLinkedConnections (HKLM\\SOFTWARE\\Microsoft\\Windows\\"
        "CurrentVersion\\Policies\\System = 1, puis redémarrer) ou utiliser le chemin UNC",
    )
