"""`inspect_tree ROOT [--host NAME=ROOT]... [--backup ROOT] [--name NAME] [--json]`.

Exit code: 0 without problems, 1 with problems, 2 on a usage error (argparse's convention).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from .inspect import inspect_tree
from .reader import LocalTree, windows_path

FOLDER_LABELS = {
    "ARCH": "Archives de télétransmission",
    "Datas": "Données principales",
    "DOCPATIENT": "Documents des patients",
    "fscan": "Documents scannés",
    "IMAGE": "Images",
    "XRAY": "Radios",
    "XRAY3D": "Radios 3D",
}


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("o", "Ko", "Mo", "Go"):
        if value < 1024 or unit == "Go":
            return f"{value:.0f} {unit}" if unit == "o" else f"{value:.1f} {unit}".replace(".", ",")
        value /= 1024
    return f"{n} o"


def _host_arg(value: str) -> tuple[str, str]:
    name, sep, path = value.partition("=")
    if not sep or not name.strip() or not path:
        raise argparse.ArgumentTypeError(f"attendu NOM=CHEMIN, reçu {value!r}")
    return name.strip(), path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inspect_tree",
        description="Inspecte une installation Julie (dossier représentant le C: d'un poste).",
    )
    parser.add_argument("root", help="dossier représentant le C: de l'ancien serveur")
    parser.add_argument(
        "--host",
        action="append",
        default=[],
        type=_host_arg,
        metavar="NOM=CHEMIN",
        help="C: d'un autre poste hébergeant des services (répétable)",
    )
    parser.add_argument("--backup", help="sauvegarde à comparer (dossier contenant Juliew)")
    parser.add_argument("--name", help="nom Windows du poste ROOT (défaut : hôte de SMARTCONTACT)")
    parser.add_argument("--json", action="store_true", help="rapport JSON")
    return parser


def _open(parser: argparse.ArgumentParser, path: str) -> LocalTree:
    try:
        return LocalTree(path)
    except (NotADirectoryError, OSError) as exc:
        parser.error(str(exc))
        raise  # unreachable: parser.error exits


def main(argv: list[str] | None = None, stdout: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    parser = _parser()
    args = parser.parse_args(argv)
    root = _open(parser, args.root)
    hosts = {name: _open(parser, path) for name, path in args.host}
    backup = _open(parser, args.backup) if args.backup else None
    report = inspect_tree(root, hosts=hosts, backup=backup, name=args.name)
    if args.json:
        out.write(json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        out.write(render_text(report))
    return 1 if report["problems"] else 0


def render_text(report: dict) -> str:
    lines: list[str] = []
    add = lines.append
    add(f"Inspection de {report['root']} (poste : {report['name'] or 'inconnu'})")
    add("")
    add(f"Chemin des données : {report['data_path_windows'] or 'introuvable'}")
    roots = ", ".join(windows_path(r) for r in report["imaging_roots"]) or "introuvable"
    add(f"Racines d'imagerie : {roots}")
    add("")
    add("Dossiers :")
    for name, stats in report["folders"].items():
        label = f"{name} ({FOLDER_LABELS[name]})"
        if stats["exists"]:
            where = windows_path(stats["path"])
            add(f"  {label:<42} {stats['files']:>7} fichiers  {_size(stats['size']):>10}  {where}")
        else:
            add(f"  {label:<42} absent")
    add("")
    reg = report["server_register"]
    if reg["present"]:
        add(f"server.register ({windows_path(reg['path'])}) :")
        for service, ep in reg["services"].items():
            add(f"  {service:<20} → {ep['host']} ({ep['scheme']}, port {ep['port']})")
        for line in reg.get("unparsed_lines", []):
            add(f"  ligne non comprise : {line}")
    else:
        add("server.register : absent")
    add(f"Poste SMS : {report['sms_host'] or 'inconnu'}")
    add("")
    for host, info in report["services_hosts"].items():
        add(f"Données des services sur {host} ({info['location']}) :")
        if not info["present"]:
            add("  dossier absent")
        for f in info["files"]:
            state = ""
            if f["kind"] == "sqlite":
                if f["ok"]:
                    rows = sum(v or 0 for v in (f["tables"] or {}).values())
                    state = f"intégrité ok, {len(f['tables'] or {})} tables, {rows} lignes"
                else:
                    state = f"CORROMPUE : {f['error'] or f['integrity']}"
            elif f["kind"] == "json":
                state = "JSON ok" if f["ok"] else f"JSON illisible : {f['error']}"
            size, digest = _size(f["size"]), f["sha256"][:12]
            add(f"  {f['relpath']:<28} {size:>10}  {f['mtime']}  {digest}  {state}")
        if info["missing"]:
            add(f"  absents : {', '.join(info['missing'])}")
    add("")
    zips = report["services_zips"]
    newest = zips["newest"]
    if newest:
        count = zips["zip_count"]
        add(f"Dernier zip JulieServicesDb : {newest['name']} ({newest['mtime']}, {count} zips)")
        if newest["sms_db"]:
            add(f"  Sms.db dans le zip : {newest['sms_db']['mtime']}")
        stale = {True: "OUI", False: "non", None: "non vérifié"}[zips["sms_db_stale"]]
        add(f"  Sms.db en service plus ancien que le zip : {stale}")
    else:
        add("Aucun zip JulieServicesDb")
    add("")
    px = report["pxdatas"]
    if px["present"]:
        add(f"pxdatas : {px['files']} fichier(s) FSE en attente d'envoi, {_size(px['bytes'])}")
        for e in px["manifest"][:20]:
            add(f"  {e['path']:<40} {e['size']:>8} o  {e['mtime']}  {e['sha256'][:12]}")
        if px["files"] > 20:
            add(f"  … et {px['files'] - 20} autre(s)")
    else:
        add("pxdatas : absent")
    if report["backup"]:
        b = report["backup"]
        add("")
        add(f"Sauvegarde {b['root']} :")
        sent = len(b["pxdatas_already_sent"])
        add(f"  FSE déjà envoyées (dans la sauvegarde, plus dans pxdatas) : {sent}")
        for e in b["pxdatas_already_sent"][:20]:
            add(f"    {e['path']}")
        add(f"  Autres fichiers absents de la source : {b['missing_from_live_count']}")
        for e in b["missing_from_live"][:20]:
            add(f"    {e['path']}")
    add("")
    for key, label in (("internet_par", "Internet.par"), ("julieprf_ini", "Julieprf.ini")):
        extra = report["extras"][key]
        add(f"{label} : {'présent' if extra['present'] else 'absent'}")
    add("")
    if report["problems"]:
        add(f"Problèmes ({len(report['problems'])}) :")
        for p in report["problems"]:
            add(f"  [{p['code']}] {p['message']}")
            for path in p["paths"]:
                add(f"      {path}")
    else:
        add("Aucun problème détecté.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
