"""Inspect a Julie installation tree and report what a migration must carry, and what is wrong.

`inspect_tree(root, hosts, backup, name)` reads only; the report is plain JSON-able data whose
`problems` list drives the exit code of the CLI.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from . import backups, layout, pxdatas, services_db
from .reader import TreeReader, find_child, join, resolve, windows_path
from .server_register import (
    MAIN_SERVICE,
    SMS_SERVICE,
    is_loopback,
    parse_server_register,
    same_host,
)
from .timefmt import iso

PROBLEM_CODES = (
    "data_path_not_found",
    "several_data_paths",
    "datas_path_has_spaces",
    "server_register_missing",
    "sms_on_secondary_host",
    "sms_host_not_provided",
    "services_host_not_provided",
    "services_data_missing",
    "services_db_corrupt",
    "sms_db_stale",
    "pxdatas_already_sent",
)
EXTRAS = {"internet_par": "Pyxvital/Internet.par", "julieprf_ini": "Windows/Julieprf.ini"}
_LISTED = 50  # paths named in one problem; the report itself keeps all of them


def _problem(code: str, message: str, paths: list[str]) -> dict:
    return {"code": code, "message": message, "paths": paths[:_LISTED]}


def _extra(reader: TreeReader, path: str | None) -> dict:
    found = resolve(reader, path) if path else None
    if not found or reader.is_dir(found):
        return {"path": path, "present": False, "size": None, "sha256": None, "mtime": None}
    entry = reader.stat(found)
    return {
        "path": found,
        "present": True,
        "size": entry.size,
        "mtime": iso(entry.mtime),
        "sha256": hashlib.sha256(reader.read_bytes(found)).hexdigest(),
    }


def _files_under(reader: TreeReader, folder: str) -> dict[str, dict]:
    return {
        e.relpath.casefold(): {"path": e.relpath, "size": e.size, "mtime": iso(e.mtime)}
        for e in reader.walk(folder)
        if not e.is_dir
    }


def _host_reader(
    host: str, root_name: str | None, root: TreeReader, hosts: Mapping[str, TreeReader]
) -> tuple[str | None, TreeReader | None]:
    """Which reader holds `host`: the root when it is the root machine, else a --host entry."""
    if same_host(host, root_name) or is_loopback(host):
        return "root", root
    for name, reader in hosts.items():
        if same_host(host, name):
            return name, reader
    return None, None


def inspect_tree(
    root: TreeReader,
    hosts: Mapping[str, TreeReader] | None = None,
    backup: TreeReader | None = None,
    name: str | None = None,
) -> dict:
    hosts = dict(hosts or {})
    problems: list[dict] = []
    report: dict = {"root": root.location, "name": name}

    # Data path and imaging roots.
    julie_roots = layout.find_julie_roots(root)
    julie_root = julie_roots[0] if julie_roots else None
    datas = find_child(root, julie_root, "Datas") if julie_root is not None else None
    imaging_roots = layout.find_imaging_roots(root, julie_root)
    folders = layout.locate_folders(root, julie_root, imaging_roots)
    report.update(
        julie_roots=julie_roots,
        julie_root=julie_root,
        data_path=datas,
        data_path_windows=windows_path(datas) if datas else None,
        imaging_roots=imaging_roots,
        folders={k: layout.folder_stats(root, p) for k, p in folders.items()},
    )
    if datas is None:
        problems.append(
            _problem(
                "data_path_not_found",
                "Aucun dossier Juliew\\Datas trouvé (ni C:\\Juliew, ni C:\\partage\\Juliew, "
                "ni sous un autre dossier de C:) : indiquer le chemin des données à la main.",
                [windows_path("Juliew"), windows_path("partage/Juliew")],
            )
        )
    if len(julie_roots) > 1:
        problems.append(
            _problem(
                "several_data_paths",
                "Plusieurs dossiers Juliew\\Datas trouvés : vérifier dans « à propos » de Julie "
                f"lequel est utilisé (retenu : {windows_path(datas)}).",
                [windows_path(join(r, "Datas")) for r in julie_roots],
            )
        )
    if datas is not None and " " in datas:
        problems.append(
            _problem(
                "datas_path_has_spaces",
                f"Le chemin des données {windows_path(datas)} contient des espaces : la "
                "procédure l'interdit ; le nouveau serveur doit utiliser C:\\partage\\Juliew.",
                [windows_path(datas)],
            )
        )

    # server.register: which post hosts the services.
    register_path = find_child(root, datas, "server.register") if datas else None
    register = None
    register_info: dict = {"path": register_path, "present": False, "services": {}}
    if register_path and not root.is_dir(register_path):
        register = parse_server_register(root.read_bytes(register_path))
        register_info = {"path": register_path, "present": True, **register.as_dict()}
    elif datas is not None:
        problems.append(
            _problem(
                "server_register_missing",
                "Fichier Datas\\server.register absent : impossible de savoir quel poste héberge "
                "les services (SMS, RDV…) ; vérifier sur chaque poste.",
                [windows_path(join(datas, "server.register"))],
            )
        )
    report["server_register"] = register_info
    if name is None and register is not None:
        name = register.host_of(MAIN_SERVICE)
    report["name"] = name

    sms_host = register.host_of(SMS_SERVICE) if register else None
    report["sms_host"] = sms_host
    sms_key, sms_reader = (None, None)
    if sms_host:
        sms_key, sms_reader = _host_reader(sms_host, name, root, hosts)
        if sms_key != "root":
            problems.append(
                _problem(
                    "sms_on_secondary_host",
                    f"Le service SMS (JULIEONLINESERVICE) est sur le poste secondaire {sms_host} : "
                    "sa base Sms.db doit être récupérée sur ce poste.",
                    [windows_path(services_db.SERVICES_DATA_DIR + "/Sms.db", sms_host)],
                )
            )
        if sms_reader is None:
            problems.append(
                _problem(
                    "sms_host_not_provided",
                    f"Le poste SMS {sms_host} n'a pas été fourni (--host {sms_host}=CHEMIN) : "
                    "son Sms.db n'a pas pu être vérifié.",
                    [windows_path(services_db.SERVICES_DATA_DIR, sms_host)],
                )
            )

    # Services hosts: every host named in server.register, every --host, and the root when it
    # holds a services data folder.
    wanted: dict[str, TreeReader] = {}
    labels: dict[str, str] = {}
    not_provided: set[str] = set()
    for endpoint in register.services.values() if register else []:
        key, reader = _host_reader(endpoint.host, name, root, hosts)
        if key is not None:
            wanted.setdefault(key, reader)
            labels.setdefault(key, (name or endpoint.host) if key == "root" else key)
            continue
        if endpoint.service == SMS_SERVICE or endpoint.host.casefold() in not_provided:
            continue  # the SMS host has its own problem code
        not_provided.add(endpoint.host.casefold())
        problems.append(
            _problem(
                "services_host_not_provided",
                f"Le poste {endpoint.host} héberge {endpoint.service} mais n'a pas été "
                f"fourni (--host {endpoint.host}=CHEMIN).",
                [windows_path(services_db.SERVICES_DATA_DIR, endpoint.host)],
            )
        )
    for key, reader in hosts.items():
        wanted.setdefault(key, reader)
        labels.setdefault(key, key)
    if "root" not in wanted and resolve(root, services_db.SERVICES_DATA_DIR):
        wanted["root"] = root
        labels["root"] = name or "racine"

    services_hosts: dict[str, dict] = {}
    for key, reader in wanted.items():
        label = labels[key]
        info = services_db.inspect_services_data(reader)
        info["source"] = "racine" if key == "root" else "--host"
        info["location"] = reader.location
        services_hosts[label] = info
        unc_host = None if key == "root" else label
        if not info["present"]:
            problems.append(
                _problem(
                    "services_data_missing",
                    f"Dossier des données des services absent sur {label}.",
                    [windows_path(services_db.SERVICES_DATA_DIR, unc_host)],
                )
            )
            continue
        bad = [f for f in info["files"] if f["kind"] in ("sqlite", "json") and not f["ok"]]
        if bad:
            problems.append(
                _problem(
                    "services_db_corrupt",
                    f"Base(s) illisible(s) ou corrompue(s) sur {label} : "
                    + ", ".join(f["relpath"] for f in bad)
                    + ". Restaurer depuis le dernier zip JulieServicesDb.",
                    [windows_path(f["path"], unc_host) for f in bad],
                )
            )
    report["services_hosts"] = services_hosts

    # JulieServicesDb: newest zip and the freshness of the live Sms.db.
    zips = (
        backups.inspect_services_zips(root, datas)
        if datas
        else {"path": None, "zip_count": 0, "newest": None}
    )
    zipped = zips["newest"]["sms_db"] if zips["newest"] else None
    live_sms = None
    sms_label = None
    if sms_reader is not None:
        sms_label = labels.get(sms_key, sms_key)
        live_sms = services_db.find_file(services_hosts[sms_label], "Sms.db")
    stale = backups.sms_db_stale(live_sms, zipped) if sms_reader is not None else None
    zips["sms_db_live"] = (
        {
            "host": sms_label,
            "path": live_sms["path"],
            "mtime": live_sms["mtime"],
            "sha256": live_sms["sha256"],
        }
        if live_sms
        else None
    )
    zips["sms_db_stale"] = stale
    report["services_zips"] = zips
    if stale:
        where = None if sms_key == "root" else sms_label
        state = (
            "absent"
            if live_sms is None
            else f"daté du {live_sms['mtime']}, plus ancien que sa copie du {zipped['mtime']}"
        )
        problems.append(
            _problem(
                "sms_db_stale",
                f"Sms.db sur {sms_label} : {state} dans {zips['newest']['name']}. Restaurer la "
                "copie du zip pour éviter des rappels SMS en double.",
                [
                    windows_path(services_db.SERVICES_DATA_DIR + "/Sms.db", where),
                    windows_path(zips["newest"]["path"]),
                ],
            )
        )

    # pxdatas: FSE waiting to be sent.
    px = pxdatas.pxdatas_path(root, datas)
    live_manifest = pxdatas.manifest(root, px) if px else []
    report["pxdatas"] = {
        "path": px,
        "present": px is not None,
        "files": len(live_manifest),
        "bytes": sum(e["size"] for e in live_manifest),
        "manifest": live_manifest,
    }

    # Backup: what it holds that the live source no longer has.
    report["backup"] = None
    if backup is not None:
        report["backup"] = _compare_backup(root, julie_root, live_manifest, backup, problems)

    report["extras"] = {
        "internet_par": _extra(
            root, join(julie_root, EXTRAS["internet_par"]) if julie_root is not None else None
        ),
        "julieprf_ini": _extra(root, EXTRAS["julieprf_ini"]),
    }
    report["problems"] = problems
    return report


def _compare_backup(
    root: TreeReader,
    julie_root: str | None,
    live_manifest: list[dict],
    backup: TreeReader,
    problems: list[dict],
) -> dict:
    b_roots = layout.find_julie_roots(backup)
    b_julie = b_roots[0] if b_roots else None
    b_datas = find_child(backup, b_julie, "Datas") if b_julie is not None else None
    b_px = pxdatas.pxdatas_path(backup, b_datas)
    b_manifest = pxdatas.manifest(backup, b_px) if b_px else []
    diff = pxdatas.compare(live_manifest, b_manifest)
    missing: list[dict] = []
    if b_julie is not None and julie_root is not None:
        live_files = _files_under(root, julie_root)
        px_prefix = (b_px[len(b_julie) :].strip("/") + "/").casefold() if b_px else None
        for key, entry in _files_under(backup, b_julie).items():
            if key in live_files or (px_prefix and key.startswith(px_prefix)):
                continue
            missing.append(entry)
        missing.sort(key=lambda e: e["path"])
    if diff["already_sent"]:
        problems.append(
            _problem(
                "pxdatas_already_sent",
                f"{len(diff['already_sent'])} fichier(s) FSE de la sauvegarde ne sont plus dans "
                "pxdatas : ils ont déjà été envoyés. Ne pas restaurer pxdatas depuis cette "
                "sauvegarde (risque de litiges avec la CPAM).",
                [f"{backup.location} : {join(b_px, e['path'])}" for e in diff["already_sent"]],
            )
        )
    return {
        "root": backup.location,
        "julie_root": b_julie,
        "pxdatas_path": b_px,
        "pxdatas_files": len(b_manifest),
        "pxdatas_already_sent": diff["already_sent"],
        "pxdatas_changed": diff["changed"],
        "pxdatas_new_since_backup": diff["new_since_backup"],
        "missing_from_live": missing,
        "missing_from_live_count": len(missing),
    }
