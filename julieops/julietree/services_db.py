"""The services' own data: `C:\\ProgramData\\Julie Software\\datas` on each services host.

SQLite files are opened on a private local copy, read-only (`mode=ro` URI), so neither the
check nor SQLite's own recovery can modify the practice's file. Only counts are reported,
never row contents (MyJulie.db holds access tokens).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from .reader import TreeReader, join, resolve
from .timefmt import iso

SERVICES_DATA_DIR = "ProgramData/Julie Software/datas"
KNOWN_FILES = (
    "smartcontact.db",
    "messenger.db",
    "Sms.db",
    "JulieRdv.db",
    "MyJulie.db",
    "ListDynamikActuLocal.json",
)
SQLITE_MAGIC = b"SQLite format 3\x00"
_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_sqlite(path: Path) -> dict:
    """`integrity_check` and row counts of a local SQLite file, opened read-only.
    Returns {"integrity": "ok" | first messages, "ok": bool, "tables": {name: rows} | None,
    "error": str | None}."""
    with open(path, "rb") as f:
        header = f.read(len(SQLITE_MAGIC))
    if header != SQLITE_MAGIC:
        return {"ok": False, "integrity": None, "tables": None, "error": "en-tête SQLite absent"}
    uri = path.resolve().as_uri() + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        return {"ok": False, "integrity": None, "tables": None, "error": str(exc)}
    try:
        try:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check(20)")]
        except sqlite3.Error as exc:
            return {"ok": False, "integrity": None, "tables": None, "error": str(exc)}
        ok = rows == ["ok"]
        integrity = "ok" if ok else rows
        tables = None
        try:
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            tables = {}
            for name in names:
                quoted = '"' + name.replace('"', '""') + '"'
                try:
                    tables[name] = conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]  # noqa: S608
                except sqlite3.Error:
                    tables[name] = None  # unreadable table: counted as unknown
        except sqlite3.Error:
            tables = None
        return {"ok": ok, "integrity": integrity, "tables": tables, "error": None}
    finally:
        conn.close()


def inspect_file(reader: TreeReader, path: str) -> dict:
    """Size, mtime, SHA-256 and, for SQLite/JSON files, whether they are readable."""
    entry = reader.stat(path)
    name = path.rsplit("/", 1)[-1]
    info: dict = {
        "name": name,
        "path": path,
        "size": entry.size,
        "mtime": iso(entry.mtime),
        "mtime_ts": entry.mtime,
        "sha256": None,
        "kind": "other",
    }
    with reader.open_local_copy(path) as local:
        info["sha256"] = sha256_file(local)
        with open(local, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
        if head == SQLITE_MAGIC or name.lower().endswith(_SQLITE_SUFFIXES):
            info["kind"] = "sqlite"
            info.update(check_sqlite(local))
        elif name.lower().endswith(".json"):
            info["kind"] = "json"
            try:
                json.loads(local.read_bytes().decode("utf-8-sig"))
                info.update(ok=True, error=None)
            except (UnicodeDecodeError, ValueError) as exc:
                info.update(ok=False, error=str(exc))
    return info


def inspect_services_data(reader: TreeReader) -> dict:
    """Every file of the services data folder (top level and below), plus which known files
    are missing."""
    folder = resolve(reader, SERVICES_DATA_DIR)
    if folder is None or not reader.is_dir(folder):
        return {"path": SERVICES_DATA_DIR, "present": False, "files": [], "missing": []}
    files = []
    for e in reader.walk(folder):
        if e.is_dir or e.relpath.lower().endswith(("-wal", "-shm", "-journal")):
            continue
        files.append({"relpath": e.relpath, **inspect_file(reader, join(folder, e.relpath))})
    present = {f["relpath"].casefold() for f in files}
    missing = [n for n in KNOWN_FILES if n.casefold() not in present]
    return {"path": folder, "present": True, "files": files, "missing": missing}


def find_file(services: dict, name: str) -> dict | None:
    """The top-level file called `name` (case-insensitive)."""
    return next((f for f in services["files"] if f["relpath"].casefold() == name.casefold()), None)
