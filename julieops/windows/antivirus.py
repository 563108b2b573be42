"""`target.antivirus`: Windows Defender exclusions for Julie's programs and folders."""

from __future__ import annotations

from julieops.windows.verdict import as_list, item, verdict


def expected_exclusions(juliew: str = r"C:\Juliew", share: str = r"C:\partage") -> dict:
    return {
        "ExclusionProcess": [
            rf"{juliew}\Julie.exe",
            rf"{juliew}\w32mkde.exe",
            rf"{juliew}\pyxvital\pyxvital.exe",
            rf"{juliew}\pyxvital\pyxrss.exe",
            rf"{juliew}\pyxvital\pyxnet.exe",
        ],
        "ExclusionPath": [juliew, rf"{share}\Juliew\pyxvital"],
    }


SCRIPT = r"""
# julieops-script: windows.antivirus
param([string[]]$Processes, [string[]]$Paths, [bool]$Apply)
if ($Apply) {
    if ($Processes) { Add-MpPreference -ExclusionProcess $Processes }
    if ($Paths) { Add-MpPreference -ExclusionPath $Paths }
}
Get-MpPreference | Select-Object ExclusionPath, ExclusionProcess
"""


def antivirus_verdict(data: dict, expected: dict | None = None) -> dict:
    """data: result of SCRIPT (Get-MpPreference exclusions)."""
    expected = expected or expected_exclusions()
    items = []
    for kind, label in (
        ("ExclusionProcess", "Processus exclu"),
        ("ExclusionPath", "Dossier exclu"),
    ):
        present = {p.rstrip("\\").lower() for p in as_list(data.get(kind)) if p}
        for path in expected[kind]:
            ok = path.rstrip("\\").lower() in present
            items.append(
                item(
                    f"{label} {path}",
                    "ok" if ok else "fail",
                    "présent" if ok else "exclusion absente de Windows Defender",
                )
            )
    return verdict("Antivirus", items)
