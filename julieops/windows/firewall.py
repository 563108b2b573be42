# ruff: noqa: E501 - PowerShell script text is kept on readable lines
"""`target.firewall`: inbound rules for the ports of Julie's services, and Julie.exe allowed
in and out, on every post the procedure needs them on: the new server (every port), the post
holding the HASP key (1947, the key server) and the posts hosting Julie's services (their ports;
the SMS service, JulieOnlineService 9001, may run on a secondary post).

Assumption (the procedure lists the ports, not the posts): a post that is only the key host
needs 1947 alone; a post that is only a services host needs the services' ports, not 1947."""

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
KEY_SERVER_PORTS = tuple(p for p in PORTS if p[1] == 1947)
SERVICES_PORTS = tuple(p for p in PORTS if p[1] != 1947)


def ports_for(*, data_server: bool, key_host: bool, services_host: bool) -> tuple:
    """The (name, port) pairs a post needs opened, in the order of PORTS."""
    if data_server:
        return PORTS
    wanted = (KEY_SERVER_PORTS if key_host else ()) + (SERVICES_PORTS if services_host else ())
    return tuple(p for p in PORTS if p in wanted)


# Lists enabled Allow rules with their TCP ports and programs; with $Apply, first adds the
# missing ones (named "JulieOps - …", so a second run finds them and adds nothing).
SCRIPT = r"""
# julieops-script: windows.firewall
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


def script_params(
    julie_exe: str = r"C:\Juliew\Julie.exe", apply: bool = False, ports: tuple = PORTS
) -> dict:
    return {
        "Ports": [port for _, port in ports],
        "Names": [name for name, _ in ports],
        "JulieExe": julie_exe,
        "Apply": apply,
    }


def _ports(rule: dict) -> set[str]:
    return {str(p) for p in as_list(rule.get("LocalPort"))}


def firewall_verdict(
    data: dict, julie_exe: str = r"C:\Juliew\Julie.exe", ports: tuple = PORTS, prefix: str = ""
) -> dict:
    """data: result of SCRIPT for one machine; `prefix` names it in the labels ("POSTE — ")."""
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
    for name, port in ports:
        match = next((r for r in inbound if str(port) in _ports(r) or "Any" in _ports(r)), None)
        items.append(
            item(
                f"{prefix}Port {port} ({name})",
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
                f"{prefix}Julie.exe ({word})",
                "ok" if match else "fail",
                f"règle « {match['DisplayName']} »" if match else f"{julie_exe} non autorisé",
            )
        )
    return verdict("Pare-feu", items)
