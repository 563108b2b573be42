# ruff: noqa: E501 - PowerShell script text is kept on readable lines
"""`target.share`: C:\\partage shared with full control for Everyone (share and NTFS), never
only `Datas`; the data path must hold no spaces and must not live on a NAS.

The real share list is read (`Get-SmbShare`: the path of every share, administrative ones left
aside): a share of `Datas` alone, or of `Juliew` instead of its parent, fails whatever its name,
and so does the configured share when it points somewhere else than the configured folder."""

from __future__ import annotations

import re

from julieops.windows.verdict import as_list, item, verdict

EVERYONE_SID = "S-1-1-0"
EVERYONE_NAMES = {"everyone", "tout le monde", "\\everyone", "\\tout le monde"}

# Reads the state; `Apply` creates what is missing (idempotent). Everyone is named by SID, so
# the same script works on French ("Tout le monde") and English Windows.
SCRIPT = r"""
# julieops-script: windows.share
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
$shares = @(Get-SmbShare -ErrorAction SilentlyContinue | Select-Object Name, Path, Special, ShareType)
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
    Shares = $shares
    ShareAccess = @(if ($share) { Get-SmbShareAccess -Name $Name |
        Select-Object AccountName, AccessControlType, AccessRight })
    Acl = $ntfs
    EveryoneName = $everyoneName
    Drive = (Get-Item -LiteralPath ([IO.Path]::GetPathRoot($Path)) -ErrorAction SilentlyContinue |
        ForEach-Object { (Get-CimInstance Win32_LogicalDisk -Filter "DeviceID='$($_.Name.TrimEnd('\'))'" |
        Select-Object DeviceID, DriveType, ProviderName, FileSystem) })
}
"""

MISPLACED = "share_misplaced"  # a share on Datas, on Juliew, or the named one elsewhere
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


def _norm(path: str) -> str:
    return (path or "").replace("/", "\\").rstrip("\\").casefold()


def share_list_items(shares, data_root: str) -> list[dict]:
    """Lines for the shares that expose Datas alone or Juliew instead of its parent.
    `shares`: the `Shares` part of SCRIPT's result (None: not read)."""
    if shares is None:
        return [
            item(
                "Liste des partages",
                "warn",
                "liste des partages non lue : vérifier à la main qu'aucun partage ne pointe sur "
                "Juliew ni sur Datas",
            )
        ]
    juliew = _norm(data_root)
    datas = juliew + "\\datas"
    items = []
    for found in as_list(shares):
        if found.get("Special"):
            continue  # C$, ADMIN$, IPC$: administrative shares
        where, label = _norm(found.get("Path")), f"Partage « {found.get('Name')} »"
        if where == datas or where.endswith("\\datas"):
            items.append(
                item(label, "fail", f"{found.get('Path')} : ne jamais partager seulement « Datas »")
                | {"code": MISPLACED}
            )
        elif where == juliew:
            items.append(
                item(
                    label,
                    "fail",
                    f"{found.get('Path')} : partager le dossier qui contient Juliew, pas Juliew "
                    "lui-même",
                )
                | {"code": MISPLACED}
            )
    return items


def share_verdict(
    data: dict, path: str = r"C:\partage", name: str = "partage", data_root: str | None = None
) -> dict:
    """data: result of SCRIPT for the new server; data_root: the Juliew folder (default
    `path`\\Juliew)."""
    items = []
    for problem in data_path_problems(path, data.get("Drive")):
        items.append(item("Chemin des données", "fail", problem))
    if re.search(r"\\datas\\?$", path, re.I):
        items.append(item("Dossier partagé", "fail", "ne jamais partager seulement « Datas »"))
    share = data.get("Share")
    if not share:
        items.append(item(f"Partage « {name} »", "fail", f"{path} n'est pas partagé"))
    elif _norm(share.get("Path")) != _norm(path):
        items.append(
            item(
                f"Partage « {name} »",
                "fail",
                f"pointe sur {share.get('Path')}, pas sur {path} : corriger le partage à la main "
                "(rien n'est modifié)",
            )
            | {"code": MISPLACED}
        )
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
    named = f"Partage « {name} »"
    listed = share_list_items(data.get("Shares"), data_root or path.rstrip("\\") + "\\Juliew")
    if any(i["label"] == named for i in listed):
        # The list says more precisely what is wrong with the named share.
        items = [i for i in items if i["label"] != named]
    items += listed
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
