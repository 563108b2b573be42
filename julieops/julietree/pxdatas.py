"""`Datas\\pxdatas`: the FSE (electronic care sheets) still waiting to be sent.

Files leave pxdatas once the CPAM's ARL is received. A file that a backup holds and the live
folder does not was therefore already sent: restoring it would send it again.

Manifest format: a list sorted by path of
    {"path": "sub/dir/name" (relative to pxdatas, "/"), "size": int, "mtime": ISO-8601 UTC,
     "sha256": hex}
"""

from __future__ import annotations

import hashlib

from .reader import TreeReader, find_child, join
from .timefmt import iso

PXDATAS_DIR = "pxdatas"


def pxdatas_path(reader: TreeReader, datas_path: str | None) -> str | None:
    if datas_path is None:
        return None
    return find_child(reader, datas_path, PXDATAS_DIR)


def manifest(reader: TreeReader, folder: str) -> list[dict]:
    entries = []
    for entry in reader.walk(folder):
        if entry.is_dir:
            continue
        data = reader.read_bytes(join(folder, entry.relpath))
        entries.append(
            {
                "path": entry.relpath,
                "size": entry.size,
                "mtime": iso(entry.mtime),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    entries.sort(key=lambda e: e["path"])
    return entries


def compare(live: list[dict], backup: list[dict]) -> dict:
    """Paths compare case-insensitively (Windows). `already_sent`: in the backup only;
    `changed`: same path, different content; `new_since_backup`: live only."""
    live_by = {e["path"].casefold(): e for e in live}
    backup_by = {e["path"].casefold(): e for e in backup}
    return {
        "already_sent": [e for k, e in backup_by.items() if k not in live_by],
        "changed": [
            e for k, e in backup_by.items() if k in live_by and live_by[k]["sha256"] != e["sha256"]
        ],
        "new_since_backup": [e for k, e in live_by.items() if k not in backup_by],
    }
