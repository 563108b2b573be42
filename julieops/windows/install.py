# ruff: noqa: E501 - PowerShell script text is kept on readable lines
"""`install.verify`: Julie.exe present, the key server (Servcle.exe) running and port 1947
listening on the key host only."""

from __future__ import annotations

from julieops.windows.verdict import item, verdict

SCRIPT = r"""
param([string]$Juliew)
@{
    JulieExe = Test-Path -LiteralPath (Join-Path $Juliew 'Julie.exe')
    Servcle = [bool](Get-Process -Name 'Servcle' -ErrorAction SilentlyContinue)
    Listen1947 = [bool](Get-NetTCPConnection -State Listen -LocalPort 1947 -ErrorAction SilentlyContinue)
}
"""


def install_verdict(machines: dict[str, dict], key_host: str) -> dict:
    """machines: {post: result of SCRIPT}."""
    items = []
    for name, data in machines.items():
        is_key = name.lower() == key_host.lower()
        items.append(
            item(
                f"{name} — Julie.exe",
                "ok" if data.get("JulieExe") else "fail",
                "présent" if data.get("JulieExe") else "absent",
            )
        )
        running = bool(data.get("Servcle")) and bool(data.get("Listen1947"))
        if is_key:
            detail = (
                "Servcle.exe lancé, port 1947 à l'écoute"
                if running
                else (
                    "Servcle.exe "
                    + ("lancé" if data.get("Servcle") else "arrêté")
                    + ", port 1947 "
                    + ("à l'écoute" if data.get("Listen1947") else "fermé")
                )
            )
            items.append(item(f"{name} — serveur de clé", "ok" if running else "fail", detail))
        elif data.get("Servcle") or data.get("Listen1947"):
            items.append(
                item(
                    f"{name} — serveur de clé",
                    "fail",
                    "serveur de clé actif sur un poste sans la clé : à désinstaller",
                )
            )
    return verdict("Vérification de l'installation", items)
