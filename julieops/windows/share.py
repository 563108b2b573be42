# ruff: noqa: E501 - PowerShell script text is kept on readable lines
"""`target.share`: C:\\partage shared with full control for Everyone (share and NTFS), never
only `Datas`; the data path must hold no spaces and must not live on a NAS."""

from __future__ import annotations

import re

from julieops.windows.verdict import as_list, item, verdict

EVERYONE_SID = "S-1-1-0"
EVERYONE_NAMES = {"everyone", "tout le monde", "\\everyone", "\\tout le monde"}

# Reads the state; `Apply` creates what is missing (idempotent). Everyone is named by SID, so
# the same script works on French ("Tout le monde") and English Windows.
SCRIPT = r"""
param([string]$Path, [string]$Name, [bool]$Apply)
$everyone = New-Object System.Security.Principal.SecurityIdentifier('S-1-1-0')
$everyoneName = $everyone.Translate([System.Security.Principal.NTAccount]).Value
if ($Apply) {
    if (-not (Test-Path -LiteralPath $Path)) { New-Item -ItemType Directory -Path $Path | Out-Null }
    if (-not (Get-SmbShare -Name $Name -ErrorAction SilentlyContinue)) {
        New-SmbShare -Name $Name -Path $Path -FullAccess $everyoneName | Out-Null
    } else {
        Grant-SmbShareAccess -Name $Name -AccountName $everyoneName -AccessRight Full -Force | Out-Null
    }
    $acl = Get-Acl -LiteralPath $Path
    $rule = New-Object System.Security.AccessControl.FileSystemAccessRule($everyone, 'FullControl',
        'ContainerInherit,ObjectInherit', 'None', 'Allow')
    $acl.AddAccessRule($rule)
    Set-Acl -LiteralPath $Path -AclObject $acl
}
$share = Get-SmbShare -Name $Name -ErrorAction SilentlyContinue
$ntfs = if (Test-Path -LiteralPath $Path) {
    @((Get-Acl -LiteralPath $Path).Access | ForEach-Object {
        @{
            IdentityReference = $_.IdentityReference.Value
            Sid = try { $_.IdentityReference.Translate([System.Security.Principal.SecurityIdentifier]).Value } catch { '' }
            FileSystemRights = $_.FileSystemRights.ToString()
            AccessControlType = $_.AccessControlType.ToString()
            InheritanceFlags = $_.InheritanceFlags.ToString()
        }
    })
}
@{
    Share = $share | Select-Object Name, Path, Description
    ShareAccess = @(if ($share) { Get-SmbShareAccess -Name $Name |
        Select-Object AccountName, AccessControlType, AccessRight })
    Acl = $ntfs
    EveryoneName = $everyoneName
    Drive = (Get-Item -LiteralPath ([IO.Path]::GetPathRoot($Path)) -ErrorAction SilentlyContinue |
        ForEach-Object { (Get-CimInstance Win32_LogicalDisk -Filter "DeviceID='$($_.Name.TrimEnd('\'))'" |
        Select-Object DeviceID, DriveType, ProviderName, FileSystem) })
}
"""

NAS_HINT = re.compile(r"synology|qnap|nas|diskstation|readynas|terastation|freenas|truenas", re.I)


def data_path_problems(path: str, drive: dict | None = None) -> list[str]:
    """Reasons (French) to refuse a data path: spaces, or data on a NAS / network location."""
    problems = []
    if " " in path:
        problems.append(f"le chemin des données « {path} » contient des espaces (interdit)")
    unc = path.startswith("\\\\")
    network_drive = bool(drive) and int(drive.get("DriveType") or 0) == 4
    if unc or network_drive:
        where = path if unc else f"{drive.get('DeviceID')} → {drive.get('ProviderName')}"
        problems.append(
            f"données sur un emplacement réseau ({where}) : l'hébergement sur un NAS est "
            "proscrit, le poste des données doit exécuter les services de Julie"
        )
    elif NAS_HINT.search(path):
        problems.append(f"le chemin « {path} » semble désigner un NAS (proscrit)")
    return problems


def _is_everyone(name: str, sid: str = "") -> bool:
    return sid == EVERYONE_SID or (name or "").strip().lower() in EVERYONE_NAMES


def share_verdict(data: dict, path: str = r"C:\partage", name: str = "partage") -> dict:
    """data: result of SCRIPT for the new server."""
    items = []
    for problem in data_path_problems(path, data.get("Drive")):
        items.append(item("Chemin des données", "fail", problem))
    if re.search(r"\\datas\\?$", path, re.I):
        items.append(item("Dossier partagé", "fail", "ne jamais partager seulement « Datas »"))
    share = data.get("Share")
    if not share:
        items.append(item(f"Partage « {name} »", "fail", f"{path} n'est pas partagé"))
    else:
        items.append(item(f"Partage « {name} »", "ok", f"{share.get('Path')}"))
        access = [
            a
            for a in as_list(data.get("ShareAccess"))
            if _is_everyone(a.get("AccountName"))
            and a.get("AccessControlType") in (0, "Allow")
            and a.get("AccessRight") in (0, "Full")
        ]
        items.append(
            item(
                "Autorisations du partage",
                "ok" if access else "fail",
                "Tout le monde : contrôle total"
                if access
                else "« Tout le monde » n'a pas le contrôle total sur le partage",
            )
        )
    full = [
        a
        for a in as_list(data.get("Acl"))
        if _is_everyone(a.get("IdentityReference"), a.get("Sid", ""))
        and a.get("AccessControlType") == "Allow"
        and "FullControl" in (a.get("FileSystemRights") or "")
    ]
    items.append(
        item(
            "Sécurité NTFS",
            "ok" if full else "fail",
            "Tout le monde : contrôle total"
            if full
            else "« Tout le monde » n'a pas le contrôle total dans l'onglet Sécurité",
        )
    )
    return verdict("Partage des données", items)
