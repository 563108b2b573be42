# ruff: noqa: E501 - PowerShell script text is kept on readable lines
"""`install.clients` and `post.clients_repoint`: each client maps the server's share root (the
folder containing Juliew, never Juliew or Datas) or uses a UNC data path, and reaches Datas."""

from __future__ import annotations

import re

from julieops.windows.verdict import as_list, item, verdict

SCRIPT = r"""
param([string]$DataPath)
@{
    Mappings = @(Get-CimInstance Win32_MappedLogicalDisk | Select-Object Name, ProviderName)
    SmbMappings = @(Get-SmbMapping -ErrorAction SilentlyContinue | Select-Object LocalPath, RemotePath, Status)
    Reachable = Test-Path -LiteralPath (Join-Path $DataPath 'Datas')
}
"""

MAP_DRIVE = r"""
param([string]$Letter, [string]$Root)
if (Get-SmbMapping -LocalPath $Letter -ErrorAction SilentlyContinue) {
    Remove-SmbMapping -LocalPath $Letter -Force -UpdateProfile
}
New-SmbMapping -LocalPath $Letter -RemotePath $Root -Persistent $true | Select-Object LocalPath, RemotePath, Status
"""


def _host(unc: str) -> str:
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
        to_server = [(d, p) for d, p in maps if _host(p) == server.lower()]
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
            stale = [(d, p) for d, p in maps if _host(p) == old_server.lower()]
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
