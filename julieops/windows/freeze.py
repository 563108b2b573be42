# ruff: noqa: E501 - PowerShell script text is kept on readable lines
"""Source freeze before the final sync: the old server's Julie services stopped and the share
holding the data made read-only, so nothing writes while the last delta is copied.

Reversible: FREEZE reports the state it found (share rights, running services), which the
step keeps; UNFREEZE puts exactly that state back."""

from __future__ import annotations

import json

from julieops.windows.verdict import as_list, item, verdict

# Service names and display names that belong to Julie (SMS, RDV, web services, key server).
SERVICE_PATTERNS = ["Julie*", "Servcle*"]
# Programs that hold the Btrieve files open: they must be closed for the final pass.
BLOCKING_PROCESSES = ["Julie", "w32mkde"]

# Shares whose folder is the data path or one of its parents (administrative $ shares aside).
FREEZE = r"""
# julieops-script: cutover.freeze
param([string]$DataPath, [string[]]$ServicePatterns, [string[]]$Processes, [bool]$Apply)
$full = if ($DataPath) { [IO.Path]::GetFullPath($DataPath).TrimEnd('\') } else { $null }
function Get-DataShares {
    if (-not $full) { return @() }
    @(Get-SmbShare | Where-Object {
        $p = "$($_.Path)".TrimEnd('\')
        $p -and $_.Name -notmatch '\$$' -and ($full -ieq $p -or $full.StartsWith($p + '\', 'OrdinalIgnoreCase'))
    })
}
function Get-ShareState {
    @(foreach ($s in Get-DataShares) {
        @{ Name = $s.Name; Path = $s.Path; Access = @(Get-SmbShareAccess -Name $s.Name | ForEach-Object {
            @{ AccountName = $_.AccountName; AccessControlType = $_.AccessControlType.ToString(); AccessRight = $_.AccessRight.ToString() } }) }
    })
}
function Get-JulieServices {
    @(Get-Service | Where-Object { $n = $_.Name; $d = $_.DisplayName
        @($ServicePatterns | Where-Object { $n -like $_ -or $d -like $_ }).Count -gt 0 } |
        ForEach-Object { @{ Name = $_.Name; DisplayName = $_.DisplayName; Status = $_.Status.ToString() } })
}
$sharesBefore = Get-ShareState
$servicesBefore = Get-JulieServices
if ($Apply) {
    foreach ($svc in $servicesBefore) {
        if ($svc.Status -eq 'Running') { Stop-Service -Name $svc.Name -Force }
    }
    foreach ($s in $sharesBefore) {
        foreach ($a in $s.Access) {
            if ($a.AccessControlType -eq 'Allow' -and $a.AccessRight -ne 'Read') {
                Grant-SmbShareAccess -Name $s.Name -AccountName $a.AccountName -AccessRight Read -Force | Out-Null
            }
        }
    }
}
@{
    SharesBefore = $sharesBefore
    Shares = Get-ShareState
    ServicesBefore = $servicesBefore
    Services = Get-JulieServices
    Processes = @(Get-Process -Name $Processes -ErrorAction SilentlyContinue | ForEach-Object { @{ Name = $_.Name; Id = $_.Id } })
}
"""

# Puts back the share rights and restarts the services recorded by FREEZE.
UNFREEZE = r"""
# julieops-script: cutover.unfreeze
param([string]$StateJson)
$state = $StateJson | ConvertFrom-Json
foreach ($s in @($state.SharesBefore)) {
    foreach ($a in @($s.Access)) {
        if ($a.AccessControlType -eq 'Allow') {
            Grant-SmbShareAccess -Name $s.Name -AccountName $a.AccountName -AccessRight $a.AccessRight -Force | Out-Null
        }
    }
}
foreach ($svc in @($state.ServicesBefore)) {
    if ($svc.Status -eq 'Running') { Start-Service -Name $svc.Name }
}
@{
    Shares = @(foreach ($s in @($state.SharesBefore)) {
        @{ Name = $s.Name; Access = @(Get-SmbShareAccess -Name $s.Name | ForEach-Object {
            @{ AccountName = $_.AccountName; AccessControlType = $_.AccessControlType.ToString(); AccessRight = $_.AccessRight.ToString() } }) }
    })
    Services = @(foreach ($svc in @($state.ServicesBefore)) {
        $now = Get-Service -Name $svc.Name -ErrorAction SilentlyContinue
        @{ Name = $svc.Name; Status = if ($now) { $now.Status.ToString() } else { 'Missing' } }
    })
}
"""


# Which of Julie's programs are open on a post (any post of the job, before freezing).
OPEN_PROGRAMS = r"""
# julieops-script: cutover.open_programs
param([string[]]$Processes)
@{ Processes = @(Get-Process -Name $Processes -ErrorAction SilentlyContinue | ForEach-Object { @{ Name = $_.Name; Id = $_.Id } }) }
"""


def programs_params() -> dict:
    return {"Processes": BLOCKING_PROCESSES}


def open_programs(data: dict) -> list[str]:
    """`Julie.exe`, `w32mkde.exe`… still open according to OPEN_PROGRAMS (or FREEZE)."""
    return sorted({f"{p.get('Name')}.exe" for p in as_list(data.get("Processes"))})


def freeze_params(data_path: str, apply: bool) -> dict:
    """data_path: the data folder whose shares become read-only ("" on a services host that
    holds no data: only its Julie services are stopped)."""
    return {
        "DataPath": data_path,
        "ServicePatterns": SERVICE_PATTERNS,
        "Processes": BLOCKING_PROCESSES,
        "Apply": apply,
    }


def unfreeze_params(state: dict) -> dict:
    """The state FREEZE found, as one JSON parameter (no value is pasted into script text)."""
    keep = {k: state.get(k) for k in ("SharesBefore", "ServicesBefore")}
    return {"StateJson": json.dumps(keep)}


def _writable(access: list) -> list[str]:
    return [
        f"{a.get('AccountName')} ({a.get('AccessRight')})"
        for a in as_list(access)
        if a.get("AccessControlType") == "Allow" and a.get("AccessRight") != "Read"
    ]


def freeze_verdict(data: dict, host: str = "", *, data_share: bool = True) -> dict:
    """data: result of FREEZE run with Apply on `host`; every share read-only, every service
    stopped, no Julie or Btrieve process left. data_share: the host holds the data (a share
    is expected)."""
    items = []
    shares = as_list(data.get("Shares"))
    if not shares and data_share:
        items.append(item("Partage des données", "warn", "aucun partage ne contient les données"))
    for share in shares:
        writable = _writable(share.get("Access"))
        items.append(
            item(
                f"Partage « {share.get('Name')} »",
                "fail" if writable else "ok",
                "encore modifiable par " + ", ".join(writable) if writable else "lecture seule",
            )
        )
    for service in as_list(data.get("Services")):
        running = service.get("Status") != "Stopped"
        items.append(
            item(
                f"Service {service.get('DisplayName') or service.get('Name')}",
                "fail" if running else "ok",
                f"état : {service.get('Status')}" if running else "arrêté",
            )
        )
    names = ", ".join(open_programs(data))
    if names:
        items.append(
            item(
                "Programmes ouverts",
                "fail",
                f"{names} encore ouvert(s) : fermer Julie sur ce poste et arrêter le moteur Btrieve",
            )
        )
    else:
        items.append(item("Programmes ouverts", "ok", "ni Julie.exe ni w32mkde.exe"))
    if host:
        items = [{**i, "label": f"{host} : {i['label']}"} for i in items]
    return verdict("Gel de la source", items)


def unfreeze_verdict(data: dict, state: dict) -> dict:
    """data: result of UNFREEZE; state: what FREEZE found before changing anything."""
    items = []
    now = {s.get("Name"): s for s in as_list(data.get("Shares"))}
    for share in as_list(state.get("SharesBefore")):
        wanted = sorted(_writable(share.get("Access")))
        got = sorted(_writable((now.get(share.get("Name")) or {}).get("Access")))
        items.append(
            item(
                f"Partage « {share.get('Name')} »",
                "ok" if wanted == got else "fail",
                "droits d'origine rétablis" if wanted == got else f"attendu {wanted}, trouvé {got}",
            )
        )
    status = {s.get("Name"): s.get("Status") for s in as_list(data.get("Services"))}
    for service in as_list(state.get("ServicesBefore")):
        if service.get("Status") != "Running":
            continue
        name = service.get("Name")
        items.append(
            item(
                f"Service {service.get('DisplayName') or name}",
                "ok" if status.get(name) == "Running" else "fail",
                "redémarré" if status.get(name) == "Running" else f"état : {status.get(name)}",
            )
        )
    return verdict("Dégel de la source", items)


# Retiring the old server once the new one holds the data: every Julie service stopped and its
# start type set to Disabled, then read back, so the old SMS sender can never start again.
# Assumption (no vendor fact): Julie's services match SERVICE_PATTERNS by name or display name.
RETIRE = r"""
# julieops-script: cutover.retire
param([string[]]$ServicePatterns, [bool]$Apply)
function Get-JulieServices {
    @(Get-Service | Where-Object { $n = $_.Name; $d = $_.DisplayName
        @($ServicePatterns | Where-Object { $n -like $_ -or $d -like $_ }).Count -gt 0 })
}
$before = @(Get-JulieServices | ForEach-Object { @{ Name = $_.Name; DisplayName = $_.DisplayName; Status = $_.Status.ToString(); StartType = $_.StartType.ToString() } })
if ($Apply) {
    foreach ($svc in Get-JulieServices) {
        if ($svc.Status -ne 'Stopped') { Stop-Service -Name $svc.Name -Force }
        Set-Service -Name $svc.Name -StartupType Disabled
    }
}
@{
    ServicesBefore = $before
    Services = @(Get-JulieServices | ForEach-Object { @{ Name = $_.Name; DisplayName = $_.DisplayName; Status = $_.Status.ToString(); StartType = $_.StartType.ToString() } })
}
"""


def retire_params(apply: bool) -> dict:
    return {"ServicePatterns": SERVICE_PATTERNS, "Apply": apply}


def retire_verdict(host: str, data: dict) -> list[dict]:
    """Items for one old host: each Julie service stopped and disabled (start type read back)."""
    services = as_list(data.get("Services"))
    if not services:
        return [item(f"{host} : services Julie", "warn", "aucun service Julie trouvé sur ce poste")]
    items = []
    for service in services:
        name = service.get("DisplayName") or service.get("Name")
        start, status = service.get("StartType"), service.get("Status")
        good = start == "Disabled" and status == "Stopped"
        detail = "désactivé et arrêté" if good else f"démarrage : {start}, état : {status}"
        items.append(item(f"{host} : service {name}", "ok" if good else "fail", detail))
    return items


# What the procedure says to do when the old share is writable again before the retirement.
READ_ONLY_AGAIN = (
    "le partage des données de l'ancien serveur doit rester en lecture seule (procédure) : "
    "remettez-le en lecture seule (Gestion de l'ordinateur > Dossiers partagés > Partages > "
    "Propriétés > Autorisations du partage : Lecture seulement pour chaque compte), ou relancez "
    "« Geler l'ancien serveur », puis relancez cette étape"
)


def share_read_only_verdict(host: str, data: dict) -> list[dict]:
    """Items for the old server's data shares read back by FREEZE without Apply (it changes
    nothing then): each must still be read-only, as the freeze left it."""
    shares = as_list(data.get("Shares"))
    if not shares:
        return [
            item(f"{host} : partage des données", "warn", "aucun partage ne contient les données")
        ]
    items = []
    for share in shares:
        writable = _writable(share.get("Access"))
        detail = (
            f"de nouveau modifiable par {', '.join(writable)} : {READ_ONLY_AGAIN}"
            if writable
            else "toujours en lecture seule"
        )
        items.append(
            item(f"{host} : partage « {share.get('Name')} »", "fail" if writable else "ok", detail)
        )
    return items
