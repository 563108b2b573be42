# ruff: noqa: E501 - PowerShell script text is kept on readable lines
"""`target.network`: same workgroup or domain everywhere, NetBIOS over TCP/IP on, wired links,
and no Remote Desktop session on the post holding the HASP key (it blocks key detection).

`quser` prints nothing usable when it is missing (Windows Home editions), denied, or localised
in a way we do not know: such an answer is « à vérifier », never ok. A disconnected session has
no SESSIONNAME in `quser`; it is told to be a Remote Desktop one by the logon sessions of type
10 (RemoteInteractive) of its user (Win32_LogonSession).

Assumption (no fact in the procedure): a *disconnected* Remote Desktop session on the key host
is reported as a warning to close (log off), not as a failure — only an active one is known to
block the HASP key."""

from __future__ import annotations

import re

from julieops.windows.verdict import as_list, item, verdict

SCRIPT = r"""
# julieops-script: windows.network
param()
$cs = Get-CimInstance Win32_ComputerSystem
# quser writes "No User exists for *" on stderr: with 'Stop' that line would end the script.
$sessions = try {
    & { $ErrorActionPreference = 'Continue'; & quser.exe 2>&1 | ForEach-Object { "$_" } } | Out-String
} catch { "$($_.Exception.Message)" }
@{
    ComputerSystem = $cs | Select-Object Name, Domain, Workgroup, PartOfDomain
    NetworkAdapterConfiguration = @(Get-CimInstance Win32_NetworkAdapterConfiguration -Filter 'IPEnabled=True' |
        Select-Object Description, Index, IPAddress, TcpipNetbiosOptions)
    Adapters = @(Get-NetAdapter -Physical | Where-Object Status -eq 'Up' |
        Select-Object Name, InterfaceDescription, LinkSpeed, PhysicalMediaType)
    Quser = $sessions
    RemoteLogons = @(Get-CimInstance Win32_LogonSession -Filter 'LogonType=10' -ErrorAction SilentlyContinue |
        ForEach-Object {
            $account = Get-CimAssociatedInstance -InputObject $_ -ResultClassName Win32_Account -ErrorAction SilentlyContinue |
                Select-Object -First 1
            @{ LogonId = $_.LogonId; User = if ($account) { $account.Name } else { '' } }
        })
}
"""

NETBIOS = {0: "par défaut (DHCP)", 1: "activé", 2: "désactivé"}
WIRELESS = re.compile(r"wi-?fi|wireless|wlan|802\.11|sans fil", re.I)
POWERLINE = re.compile(r"powerline|homeplug|\bcpl\b|devolo", re.I)
ACTIVE = {"active", "actif"}
DISCONNECTED = {"disc", "déco", "deco", "disconnected", "déconnecté"}
# What quser prints (on stderr, exit code 1) when nobody is logged on: not an unreadable answer.
NO_SESSION = re.compile(r"no user exists for|aucun utilisateur pour", re.I)


def parse_quser(text: str) -> list[dict]:
    """Sessions from `quser` (English or French). Columns are fixed-width, SESSIONNAME is blank
    for disconnected sessions, and the current session is marked with '>'."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if not lines or not re.match(r"\s*(USERNAME|UTILISATEUR)", lines[0], re.I):
        return []
    header = lines[0]
    session_start = re.search(r"\s(SESSION|NOM)", header).start() + 1
    id_column = re.search(r"\sID\s", header).start() + 1
    sessions = []
    for line in lines[1:]:
        user = line[:session_start].strip().lstrip(">").strip()
        # IDs are right-aligned under "ID": a wide one starts up to two columns earlier.
        session = line[session_start : id_column - 2].strip()
        rest = line[id_column - 2 :].split()
        if len(rest) < 2 or not rest[0].isdigit():
            continue
        sessions.append({"user": user, "session": session, "id": int(rest[0]), "state": rest[1]})
    return sessions


def quser_readable(text: str) -> bool:
    """True when `text` is quser's table or its "nobody is logged on" message."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if lines and re.match(r"\s*(USERNAME|UTILISATEUR)", lines[0], re.I):
        return True
    return bool(NO_SESSION.search(text or ""))


def disconnected_rdp_sessions(text: str, remote_logons) -> list[dict]:
    """Disconnected sessions whose user holds a Remote Desktop logon (type 10)."""
    remote_users = {
        (logon.get("User") or "").casefold() for logon in as_list(remote_logons) if logon
    }
    return [
        s
        for s in parse_quser(text)
        if s["state"].casefold() in DISCONNECTED and s["user"].casefold() in remote_users
    ]


def rdp_sessions(text: str) -> list[dict]:
    return [
        s
        for s in parse_quser(text)
        if s["session"].lower().startswith("rdp-tcp") and s["state"].lower() in ACTIVE
    ]


def _group(data: dict) -> str:
    cs = data.get("ComputerSystem") or {}
    if cs.get("PartOfDomain"):
        return f"domaine {(cs.get('Domain') or '').upper()}"
    return f"groupe de travail {(cs.get('Workgroup') or cs.get('Domain') or '').upper()}"


def network_verdict(machines: dict[str, dict], key_host: str, expected_group: str = "") -> dict:
    """machines: {post name: result of SCRIPT}; key_host: the post holding the HASP key;
    expected_group: the site's workgroup or domain when known (else the most common one)."""
    items = []
    groups = {name: _group(data) for name, data in machines.items()}
    if expected_group:
        reference, where = expected_group, "celui du site"
    else:
        # The most common one; a tie goes to the key host's (HASP is shared from it), then to
        # the first post: never to a set's order, which changes from one process to the next.
        values = list(groups.values())
        ranked = sorted(
            dict.fromkeys(values),
            key=lambda g: (-values.count(g), g != groups.get(key_host), values.index(g)),
        )
        reference = ranked[0] if ranked else ""
        where = "les autres postes"
    for name, data in machines.items():
        # The site names its group bare ("CABINET"); _group says which kind it is.
        bare = groups[name].rsplit(" ", 1)[-1]
        same = reference.casefold() in (groups[name].casefold(), bare.casefold())
        items.append(
            item(
                f"{name} — groupe de travail / domaine",
                "ok" if same else "fail",
                groups[name] + ("" if same else f" ({where} : {reference})"),
            )
        )
        for nic in as_list(data.get("NetworkAdapterConfiguration")):
            option = int(nic.get("TcpipNetbiosOptions") or 0)
            items.append(
                item(
                    f"{name} — NetBIOS sur {nic.get('Description')}",
                    "fail" if option == 2 else "ok",
                    f"NetBIOS sur TCP/IP {NETBIOS.get(option, option)}"
                    + (" : la clé HASP ne sera pas partagée" if option == 2 else ""),
                )
            )
        for adapter in as_list(data.get("Adapters")):
            text = (
                f"{adapter.get('Name')} {adapter.get('InterfaceDescription')} "
                f"{adapter.get('PhysicalMediaType')}"
            )
            if WIRELESS.search(text):
                items.append(
                    item(
                        f"{name} — liaison Wi-Fi",
                        "warn",
                        f"{adapter.get('Name')} : ralentissements possibles de Julie",
                    )
                )
            elif POWERLINE.search(text):
                items.append(
                    item(
                        f"{name} — liaison CPL",
                        "warn",
                        f"{adapter.get('Name')} : ralentissements possibles de Julie",
                    )
                )
        items.append(_rdp_item(name, data, name.lower() == key_host.lower()))
    return verdict("Réseau", items)


def _rdp_item(name: str, data: dict, on_key: bool) -> dict:
    label = f"{name} — bureau à distance"
    text = data.get("Quser") or ""
    if not quser_readable(text):
        shown = " ".join(text.split())[:160] or "aucune réponse"
        return item(
            label,
            "warn",
            f"sessions illisibles (quser : « {shown} ») : à vérifier à la main sur {name} "
            "(Gestionnaire des tâches → Utilisateurs)",
        )
    active = rdp_sessions(text)
    if active:
        users = ", ".join(s["user"] for s in active)
        return item(
            label,
            "fail" if on_key else "warn",
            f"session Bureau à distance active ({users})"
            + (" : bloque la détection de la clé HASP" if on_key else ""),
        )
    if data.get("RemoteLogons") is None and any(
        s["state"].casefold() in DISCONNECTED for s in parse_quser(text)
    ):
        return item(
            label,
            "warn",
            "session déconnectée d'origine inconnue : à vérifier (Bureau à distance ?)",
        )
    disconnected = disconnected_rdp_sessions(text, data.get("RemoteLogons"))
    if disconnected:
        users = ", ".join(s["user"] for s in disconnected)
        return item(
            label,
            "warn",
            f"session Bureau à distance déconnectée ({users})"
            + (
                " sur le poste de la clé : la fermer (Se déconnecter), elle peut retenir la clé"
                " HASP"
                if on_key
                else ""
            ),
        )
    return item(label, "ok", "aucune session active")
