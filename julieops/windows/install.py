# ruff: noqa: E501 - PowerShell script text is kept on readable lines
"""`install.verify`: Julie.exe present; the key server (Servcle.exe) running on the key host and
on no other post; Julie's configured data and imaging paths read back and compared with the
migrated ones.

Port 1947 alone proves nothing: the Sentinel licence manager (hasplms) listens on it on every
post where the HASP runtime is installed, clients included. It is reported, never judged.

Assumption (the procedure says where to *set* the paths — the installer's « Emplacement des
fichiers » and radios/images locations — not where Julie keeps them): Julie keeps them in the
registry under `HKLM\\SOFTWARE\\[WOW6432Node\\]Julie Solutions\\Julie` or in a `Julie.ini` in
Juliew or in the Windows folder. Every value found there that is a path ending in `\\datas` is
taken as the data path; every value whose name speaks of radios / images / imagerie / xray as
an imaging path. When none is found the paths are « à vérifier » in Julie's « à propos » screen.
The first real practice may correct these places.
"""

from __future__ import annotations

import re

from julieops.windows.verdict import item, verdict

REGISTRY_KEYS = (
    r"HKLM:\SOFTWARE\WOW6432Node\Julie Solutions\Julie",
    r"HKLM:\SOFTWARE\Julie Solutions\Julie",
)

SCRIPT = r"""
# julieops-script: windows.install
param([string]$Juliew, [string[]]$RegistryKeys)
$registry = @(foreach ($key in $RegistryKeys) {
    if (Test-Path -LiteralPath $key) {
        $props = Get-ItemProperty -LiteralPath $key
        foreach ($p in $props.PSObject.Properties) {
            if ($p.Name -notlike 'PS*') { @{ Source = $key; Name = $p.Name; Value = [string]$p.Value } }
        }
    }
})
$inis = @(foreach ($file in (Join-Path $Juliew 'Julie.ini'), (Join-Path $env:SystemRoot 'Julie.ini')) {
    if (Test-Path -LiteralPath $file) { @{ Source = $file; Text = [IO.File]::ReadAllText($file, [Text.Encoding]::Default) } }
})
@{
    JulieExe = Test-Path -LiteralPath (Join-Path $Juliew 'Julie.exe')
    Servcle = [bool](Get-Process -Name 'Servcle' -ErrorAction SilentlyContinue)
    Listen1947 = [bool](Get-NetTCPConnection -State Listen -LocalPort 1947 -ErrorAction SilentlyContinue)
    Config = @{ Registry = $registry; Ini = $inis }
}
"""

IMAGING_NAME = re.compile(r"radio|image|imagerie|xray", re.I)
WINDOWS_PATH = re.compile(r"^(?:[a-z]:\\|\\\\)", re.I)


def script_params(juliew: str) -> dict:
    return {"Juliew": juliew, "RegistryKeys": list(REGISTRY_KEYS)}


def _norm(path: str) -> str:
    return (path or "").strip().strip('"').replace("/", "\\").rstrip("\\").casefold()


def configured_paths(config: dict | None) -> dict | None:
    """{"data": [(source, value)], "imaging": [(source, value)]} from SCRIPT's `Config`, or None
    when the configuration was not read."""
    if config is None:
        return None
    values = []
    for entry in config.get("Registry") or []:
        values.append(
            (
                f"{entry.get('Source')}\\{entry.get('Name')}",
                entry.get("Name") or "",
                entry.get("Value") or "",
            )
        )
    for ini in config.get("Ini") or []:
        for line in (ini.get("Text") or "").splitlines():
            name, sep, value = line.partition("=")
            if sep and not line.lstrip().startswith((";", "#", "[")):
                values.append(
                    (f"{ini.get('Source')} ({name.strip()})", name.strip(), value.strip())
                )
    found = {"data": [], "imaging": []}
    for source, name, value in values:
        value = value.strip().strip('"')
        if not WINDOWS_PATH.match(value):
            continue
        if _norm(value).endswith("\\datas"):
            found["data"].append((source, value))
        elif IMAGING_NAME.search(name):
            found["imaging"].append((source, value))
    return found


def path_items(
    name: str, config: dict | None, data_path: str, imaging_paths: list[str]
) -> list[dict]:
    """Lines comparing Julie's configured paths on `name` with the migrated ones."""
    found = configured_paths(config)
    if found is None or not (found["data"] or found["imaging"]):
        where = "non lue" if found is None else "introuvable (registre, Julie.ini)"
        return [
            item(
                f"{name} — chemins configurés dans Julie",
                "warn",
                f"configuration {where} : à vérifier dans l'écran « à propos » de Julie "
                f"(données attendues : {data_path})",
            )
        ]
    items = []
    if not found["data"]:
        items.append(
            item(f"{name} — chemin des données", "warn", f"non trouvé : attendu {data_path}")
        )
    for source, value in found["data"]:
        same = _norm(value) == _norm(data_path)
        items.append(
            item(
                f"{name} — chemin des données",
                "ok" if same else "fail",
                f"{value} ({source})" + ("" if same else f" : attendu {data_path}"),
            )
        )
    wanted = {_norm(p) for p in imaging_paths}
    for source, value in found["imaging"]:
        same = _norm(value) in wanted
        items.append(
            item(
                f"{name} — chemin des radios et images",
                "ok" if same else "fail",
                f"{value} ({source})"
                + ("" if same else " : attendu " + " ou ".join(imaging_paths)),
            )
        )
    return items


def install_verdict(
    machines: dict[str, dict],
    key_host: str,
    data_path: str | None = None,
    imaging_paths: list[str] = (),
    server: str | None = None,
) -> dict:
    """machines: {post: result of SCRIPT}. With `data_path`, the configured paths of `server`
    (the new server) are compared with it and with `imaging_paths`."""
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
        listening = "port 1947 à l'écoute" if data.get("Listen1947") else "port 1947 fermé"
        if is_key:
            running = bool(data.get("Servcle"))
            items.append(
                item(
                    f"{name} — serveur de clé",
                    "ok" if running else "fail",
                    (
                        "Servcle.exe lancé"
                        if running
                        else "Servcle.exe arrêté : passer le serveur de clé en « installé » sur ce poste"
                    )
                    + f" ({listening})",
                )
            )
        elif data.get("Servcle"):
            items.append(
                item(
                    f"{name} — serveur de clé",
                    "fail",
                    "Servcle.exe lancé sur un poste sans la clé : passer le serveur de clé en « non installé »",
                )
            )
        elif data.get("Listen1947"):
            items.append(
                item(
                    f"{name} — serveur de clé",
                    "ok",
                    "Servcle.exe non lancé ; port 1947 à l'écoute : le gestionnaire de licences Sentinel, présent aussi sur les postes clients",
                )
            )
        if data_path and server and name.lower() == server.lower():
            items += path_items(name, data.get("Config"), data_path, list(imaging_paths))
    return verdict("Vérification de l'installation", items)
