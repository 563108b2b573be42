# ruff: noqa: E501 - PowerShell script text is kept on readable lines
"""`target.firewall`: inbound rules for the ports of Julie's services, and Julie.exe allowed
in and out."""

from __future__ import annotations

from julieops.windows.verdict import as_list, item, verdict

PORTS = (
    ("Serveur de clé", 1947),
    ("JulieWebServices", 8097),
    ("JulieOnlineService (SMS)", 9001),
    ("JulieOnsite", 8095),
    ("JulieLink", 8099),
    ("JulieWebApp", 8093),
    ("JulieWebAgenda", 43310),
    ("JulieRDV", 8091),
    ("JulieTab", 8082),
    ("JulieTab", 8765),
    ("JulieView", 8080),
)

# Lists enabled Allow rules with their TCP ports and programs; with $Apply, first adds the
# missing ones (named "JulieOps - …", so a second run finds them and adds nothing).
SCRIPT = r"""
param([int[]]$Ports, [string[]]$Names, [string]$JulieExe, [bool]$Apply)
function Get-AllowRules {
    Get-NetFirewallRule -Enabled True -Action Allow | ForEach-Object {
        $port = $_ | Get-NetFirewallPortFilter
        $app = $_ | Get-NetFirewallApplicationFilter
        [pscustomobject]@{
            DisplayName = $_.DisplayName; Direction = $_.Direction.ToString()
            Protocol = $port.Protocol; LocalPort = @($port.LocalPort); Program = $app.Program
        }
    }
}
if ($Apply) {
    $rules = @(Get-AllowRules)
    for ($i = 0; $i -lt $Ports.Count; $i++) {
        $open = $rules | Where-Object { $_.Direction -eq 'Inbound' -and $_.Protocol -in 'TCP','Any' -and
            ($_.LocalPort -contains [string]$Ports[$i] -or $_.LocalPort -contains 'Any') }
        if (-not $open) {
            New-NetFirewallRule -DisplayName "JulieOps - $($Names[$i]) $($Ports[$i])" -Direction Inbound `
                -Protocol TCP -LocalPort $Ports[$i] -Action Allow -Profile Any | Out-Null
        }
    }
    foreach ($direction in 'Inbound', 'Outbound') {
        $allowed = $rules | Where-Object { $_.Direction -eq $direction -and $_.Program -eq $JulieExe }
        if (-not $allowed) {
            New-NetFirewallRule -DisplayName "JulieOps - Julie.exe ($direction)" -Direction $direction `
                -Program $JulieExe -Action Allow -Profile Any | Out-Null
        }
    }
}
@{ Rules = @(Get-AllowRules) }
"""


def script_params(julie_exe: str = r"C:\Juliew\Julie.exe", apply: bool = False) -> dict:
    return {
        "Ports": [port for _, port in PORTS],
        "Names": [name for name, _ in PORTS],
        "JulieExe": julie_exe,
        "Apply": apply,
    }


def _ports(rule: dict) -> set[str]:
    return {str(p) for p in as_list(rule.get("LocalPort"))}


def firewall_verdict(data: dict, julie_exe: str = r"C:\Juliew\Julie.exe") -> dict:
    """data: result of SCRIPT for one machine."""
    rules = as_list(data.get("Rules"))
    inbound = [
        r
        for r in rules
        if r.get("Direction") == "Inbound"
        and str(r.get("Protocol")).upper() in ("TCP", "ANY")
        # A rule tied to one program does not open the port for the services.
        and str(r.get("Program") or "Any").lower() in ("any", "system")
    ]
    items = []
    for name, port in PORTS:
        match = next((r for r in inbound if str(port) in _ports(r) or "Any" in _ports(r)), None)
        items.append(
            item(
                f"Port {port} ({name})",
                "ok" if match else "fail",
                f"règle « {match['DisplayName']} »" if match else "aucune règle entrante autorisée",
            )
        )
    for direction, word in (("Inbound", "entrant"), ("Outbound", "sortant")):
        match = next(
            (
                r
                for r in rules
                if r.get("Direction") == direction
                and (r.get("Program") or "").lower() == julie_exe.lower()
            ),
            None,
        )
        items.append(
            item(
                f"Julie.exe ({word})",
                "ok" if match else "fail",
                f"règle « {match['DisplayName']} »" if match else f"{julie_exe} non autorisé",
            )
        )
    return verdict("Pare-feu", items)
