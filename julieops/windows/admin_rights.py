# ruff: noqa: E501 - PowerShell script text is kept on readable lines
"""`target.admin_rights`: Julie runs as administrator (Btrieve needs it) and never in a
compatibility mode (AppCompatFlags\\Layers).

The machine-wide flags (HKLM) are read through WinRM. The per-user flags live in the practice
user's HKCU: WinRM's HKCU is the hive of the account WinRM logs on with, not the user's, so they
come from the post agent run in the user's session (its report's `user_session`); without such
a report they are « à vérifier »."""

from __future__ import annotations

from julieops.windows.verdict import item, verdict

LAYERS = r"Software\Microsoft\Windows NT\CurrentVersion\AppCompatFlags\Layers"

# Reads the layers set for Julie.exe (the WinRM account's HKCU, kept as evidence, and HKLM);
# with $Fix, drops every machine-wide compatibility-mode layer and keeps RUNASADMIN.
SCRIPT = r"""
# julieops-script: windows.admin_rights
param([string]$JulieExe, [bool]$Fix)
$found = @{}
foreach ($hive in 'HKCU:', 'HKLM:') {
    $key = "$hive\Software\Microsoft\Windows NT\CurrentVersion\AppCompatFlags\Layers"
    $value = (Get-ItemProperty -LiteralPath $key -Name $JulieExe -ErrorAction SilentlyContinue).$JulieExe
    if ($Fix -and $value -and $hive -eq 'HKLM:') {
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


def _session_flags(session: dict, julie_exe: str) -> str:
    return " ".join(
        layer["flags"]
        for layer in session.get("compat_layers") or []
        if layer.get("hive") == "HKCU"
        and layer.get("program", "").casefold() == julie_exe.casefold()
    )


def admin_rights_verdict(
    machines: dict[str, dict], sessions: dict | None = None, julie_exe: str = r"C:\Juliew\Julie.exe"
) -> dict:
    """machines: {post: {"HKCU": "~ RUNASADMIN WIN7RTM" | None, "HKLM": …}} from SCRIPT.
    sessions: {post: the agent's user_session | None}; when given, the HKCU read by WinRM (the
    WinRM account's own) is left aside and the user's flags come from the session."""
    items = []
    for name, data in machines.items():
        user_flags = data.get("HKCU")
        unknown = False
        if sessions is not None:
            session = sessions.get(name)
            unknown = session is None
            user_flags = None if unknown else _session_flags(session, julie_exe)
        flags = layer_flags(user_flags) + layer_flags(data.get("HKLM"))
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
        if unknown:
            items.append(
                item(
                    f"{name} — réglages de l'utilisateur",
                    "warn",
                    "mode de compatibilité propre à l'utilisateur non lu (aucun rapport de l'agent "
                    "lancé dans sa session) : à vérifier",
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
