"""The agent's command line (no Django: it installs alone on a Windows post with pyscard).

    python -m readers scan [--json] [--galss FILE] [--windows-dir DIR]
    python -m readers classify ATR [--json]
    python -m readers galss FILE [--json]
    python -m readers report --url URL --token TOKEN [--cafile FILE] [--timeout S]

Exit status: 0 done, 1 failure (unreadable file, report not sent), 2 bad usage.

Run it in the practice user's own session (not through WinRM): the report then carries that
session's network drives and compatibility flags (`readers.agent.session`).
"""

import argparse
import json
import os
import sys
from pathlib import Path

from readers.agent import pcsc, session
from readers.agent.atr import classify_atr
from readers.agent.diagnosis import diagnose
from readers.agent.galss import find_galss_leftovers, parse_galss
from readers.agent.report import ReportError, build_report, post_report

TOKEN_ENV = "JULIEOPS_READERS_TOKEN"  # noqa: S105 (a variable name, not a secret)
STATUS_MARK = {"ok": "OK  ", "warn": "AVERT", "fail": "ÉCHEC"}


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        # A Windows console may not encode every French character: never crash on output.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    args = _parser().parse_args(argv)
    return args.func(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m readers", description="Agent lecteurs de cartes JulieOps."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    scan = commands.add_parser("scan", help="lecteurs, cartes et galss.ini de ce poste")
    _local_options(scan)
    scan.add_argument("--json", action="store_true", help="sortie JSON (schéma du rapport)")
    scan.set_defaults(func=_scan)

    classify = commands.add_parser("classify", help="identifier une carte d'après son ATR")
    classify.add_argument("atr", nargs="+", help="ATR en hexadécimal, espaces permis")
    classify.add_argument("--json", action="store_true")
    classify.set_defaults(func=_classify)

    galss = commands.add_parser("galss", help="analyser un fichier galss.ini")
    galss.add_argument("file")
    galss.add_argument("--json", action="store_true")
    galss.set_defaults(func=_galss)

    report = commands.add_parser("report", help="envoyer l'analyse au tableau de bord")
    _local_options(report)
    report.add_argument("--url", required=True, help="adresse https:// fournie par le tableau")
    report.add_argument("--token", help=f"jeton du poste (ou variable {TOKEN_ENV})")
    report.add_argument("--cafile", help="autorité de certification du tableau de bord")
    report.add_argument("--timeout", type=float, default=30.0, help="délai en secondes")
    report.set_defaults(func=_report)
    return parser


def _local_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--galss", help="chemin de galss.ini (défaut : C:\\Windows\\galss.ini)")
    parser.add_argument(
        "--windows-dir",
        help="dossier Windows où chercher les fichiers ga* (défaut : %%SystemRoot%%)",
    )


def _windows_dir(args) -> Path | None:
    if args.windows_dir:
        return Path(args.windows_dir)
    if os.name == "nt":
        return Path(os.environ.get("SYSTEMROOT", r"C:\Windows"))
    return None


def _galss_installed() -> bool | None:
    """Windows: is a program named GALSS in the uninstall list? None elsewhere."""
    if os.name != "nt":
        return None
    import winreg

    root = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"
    for view in (winreg.KEY_WOW64_64KEY, winreg.KEY_WOW64_32KEY):
        try:
            key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, root, 0, winreg.KEY_READ | view)
        except OSError:
            continue
        with key:
            for i in range(winreg.QueryInfoKey(key)[0]):
                try:
                    with winreg.OpenKey(key, winreg.EnumKey(key, i)) as entry:
                        name = winreg.QueryValueEx(entry, "DisplayName")[0]
                except OSError:
                    continue
                if "galss" in str(name).lower():
                    return True
    return False


def _collect(args) -> dict:
    windows_dir = _windows_dir(args)
    galss_path = Path(args.galss) if args.galss else None
    if galss_path is None and windows_dir is not None and (windows_dir / "galss.ini").is_file():
        galss_path = windows_dir / "galss.ini"
    galss = None
    if galss_path is not None:
        galss = parse_galss(galss_path).as_dict()  # OSError handled by the caller
    return build_report(
        pcsc.scan(),
        galss=galss,
        galss_path=str(galss_path) if galss_path else None,
        windows_ga_files=find_galss_leftovers(windows_dir) if windows_dir else None,
        galss_installed=_galss_installed(),
        user_session=session.collect(),
    )


def _scan(args) -> int:
    try:
        report = _collect(args)
    except OSError as exc:
        print(f"galss.ini illisible : {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    scan = report["pcsc"]
    print(f"Lecteurs PC/SC : {scan['message']}")
    for reader in scan["readers"]:
        if reader["atr"]:
            print(f"  - {reader['name']} : {reader['label']} (ATR {reader['atr']})")
        else:
            print(f"  - {reader['name']} : aucune carte")
    if report["galss"] is not None:
        print()
        _print_galss(report["galss"])
    if report["user_session"] is not None:
        print()
        _print_session(report["user_session"])
    verdict = diagnose(report)
    print()
    print(verdict["summary"])
    for item in verdict["items"]:
        print(f"  [{STATUS_MARK[item['status']]}] {item['label']} : {item['detail']}")
    return 0


def _print_session(found: dict) -> None:
    print(f"Session de {found['user']} :")
    for drive in found["drive_mappings"]:
        state = "accessible" if drive["reachable"] else "inaccessible"
        datas = ", ".join(drive["datas"]) or "aucun dossier Datas"
        print(f"  - lecteur {drive['letter']} → {drive['remote']} ({state} ; {datas})")
    if not found["drive_mappings"]:
        print("  - aucun lecteur réseau")
    linked = {True: "activé", False: "désactivé", None: "non lu"}
    print(f"  EnableLinkedConnections : {linked[found['enable_linked_connections']]}")
    for layer in found["compat_layers"]:
        print(f"  Compatibilité {layer['hive']} {layer['program']} : {layer['flags']}")


def _classify(args) -> int:
    try:
        info = classify_atr(" ".join(args.atr))
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(info.as_dict(), ensure_ascii=False))
        return 0
    kind = {"vitale": "carte Vitale", "cps": "carte CPS", "unknown": "inconnue"}[info.card]
    print(f"{info.atr} : {info.label} [{kind}]")
    for line in info.descriptions:
        print(f"  smartcard_list : {line}")
    return 0


def _galss(args) -> int:
    try:
        result = parse_galss(Path(args.file)).as_dict()
    except OSError as exc:
        print(f"Impossible de lire {args.file} : {exc.strerror or exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        _print_galss(result)
    return 0


def _print_galss(result: dict) -> None:
    modes = {
        "pss": "lecteurs SESAM-Vitale (PSS, port série)",
        "pcsc": "PC/SC via GALSS",
        "mixed": "mixte (PSS et PC/SC)",
        None: "aucun canal",
    }
    print(f"galss.ini : mode {modes[result['mode']]}")
    for channel in result["channels"]:
        where = (
            f"COM{channel['com_port']}"
            if channel["com_port"]
            else f"« {channel['reader_name']} »"
            if channel["reader_name"]
            else "?"
        )
        lads = ", ".join(channel["lads"]) or "aucune ressource"
        print(f"  - canal {channel['index']} : {where} ({lads})")
    if result["messages"]:
        print("  Problèmes :")
        for message in result["messages"]:
            print(f"  * [{message['code']}] {message['message']}")
    else:
        print("  Aucun problème détecté.")


def _report(args) -> int:
    token = args.token or os.environ.get(TOKEN_ENV, "")
    if not token:
        print(f"Jeton manquant : --token ou variable {TOKEN_ENV}.", file=sys.stderr)
        return 2
    try:
        report = _collect(args)
    except OSError as exc:
        print(f"galss.ini illisible : {exc}", file=sys.stderr)
        return 1
    try:
        answer = post_report(args.url, token, report, timeout=args.timeout, cafile=args.cafile)
    except ReportError as exc:
        print(f"Rapport non envoyé. {exc}", file=sys.stderr)
        return 1
    readers = len(report["pcsc"]["readers"])
    print(f"Rapport envoyé ({readers} lecteur(s)).")
    if isinstance(answer, dict) and answer.get("message"):
        print(str(answer["message"]))
    return 0
