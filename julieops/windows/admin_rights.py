# ruff: noqa: E501 - PowerShell script text is kept on readable lines
"""`target.admin_rights`: Julie runs as administrator (Btrieve needs it) and never in a
compatibility mode (AppCompatFlags\\Layers)."""

from __future__ import annotations

from julieops.windows.verdict import item, verdict

LAYERS = r"Software\Microsoft\Windows NT\CurrentVersion\AppCompatFlags\Layers"

# Reads the layers set for Julie.exe (per user and machine-wide); with $Fix, drops every
# compatibility-mode layer and keeps RUNASADMIN.
SCRIPT = r"""
param([string]$JulieExe, [bool]$Fix)
$found = @{}
foreach ($hive in 'HKCU:', 'HKLM:') {
    $key = "$hive\Software\Microsoft\Windows NT\CurrentVersion\AppCompatFlags\Layers"
    $value = (Get-ItemProperty -LiteralPath $key -Name $JulieExe -ErrorAction SilentlyContinue).$JulieExe
    if ($Fix -and $value) {
        $kept = @($value -split ' ' | Where-Object { $_ -in '~', 'RUNASADMIN' })
        if ($kept -contains 'RUNASADMIN') { $kept = @('~', 'RUNASADMIN') } else { $kept = @() }
        if ($kept) { Set-ItemProperty -LiteralPath $key -Name $JulieExe -Value ($kept -join ' ') }
        else { Remove-ItemProperty -LiteralPath $key -Name $JulieExe }
        $value = (Get-ItemProperty -LiteralPath $key -Name $JulieExe -ErrorAction SilentlyContinue).$JulieExe
    }
    $found[$hive.TrimEnd(':')] = $value
}
$found
"""

COMPAT_PREFIXES = ("WIN", "VISTA", "NT4", "LAYER_WIN")


def layer_flags(value: str | None) -> list[str]:
    return [flag for flag in (value or "").split() if flag != "~"]


def admin_rights_verdict(machines: dict[str, dict]) -> dict:
    """machines: {post: {"HKCU": "~ RUNASADMIN WIN7RTM" | None, "HKLM": …}} from SCRIPT."""
    items = []
    for name, data in machines.items():
        flags = layer_flags(data.get("HKCU")) + layer_flags(data.get("HKLM"))
        compat = [f for f in flags if f.upper().startswith(COMPAT_PREFIXES)]
        items.append(
            item(
                f"{name} — mode de compatibilité",
                "fail" if compat else "ok",
                f"activé ({', '.join(compat)}) : à désactiver (correction proposée)"
                if compat
                else "désactivé",
            )
        )
        admin = "RUNASADMIN" in (f.upper() for f in flags)
        items.append(
            item(
                f"{name} — exécuter en tant qu'administrateur",
                "ok" if admin else "warn",
                "coché"
                if admin
                else "non coché pour Julie.exe : Btrieve a besoin des droits administrateur",
            )
        )
    return verdict("Droits de Julie", items)
