"""Julie's own backup of the services data: `Datas\\JulieServicesDb\\*.zip`, one every 4 hours.

`Sms.db` holds the SMS reminder history; if the live copy is missing or older than the copy
in the newest zip, the zip's copy must be restored, otherwise patients get reminders twice.
"""

from __future__ import annotations

import hashlib
import struct
import time
import zipfile
from datetime import datetime

from .reader import TreeReader, find_child, join
from .timefmt import iso

SERVICES_ZIP_DIR = "JulieServicesDb"
# Zip times have a 2-second resolution.
TOLERANCE_SECONDS = 2.0

_EPOCH_AS_FILETIME = 116444736000000000


def member_mtime(info: zipfile.ZipInfo) -> tuple[float, str]:
    """Modification time of a zip member and where it came from: the NTFS (0x000a) or
    extended-timestamp (0x5455) extra fields are UTC; the DOS field is the zipping machine's
    local time, read here in the inspecting machine's time zone (a practice and its
    technicians are both on French time)."""
    extra = info.extra
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + size]
        if tag == 0x000A and len(body) >= 4 + 4 + 8:
            attr_tag, attr_size = struct.unpack_from("<HH", body, 4)
            if attr_tag == 1 and attr_size >= 8:
                (filetime,) = struct.unpack_from("<Q", body, 8)
                return (filetime - _EPOCH_AS_FILETIME) / 10_000_000, "ntfs"
        if tag == 0x5455 and len(body) >= 5 and body[0] & 1:
            (mtime,) = struct.unpack_from("<i", body, 1)
            return float(mtime), "unix"
        pos += 4 + size
    return time.mktime(datetime(*info.date_time).timetuple()), "dos-local"


def list_zips(reader: TreeReader, datas_path: str) -> tuple[str | None, list]:
    folder = find_child(reader, datas_path, SERVICES_ZIP_DIR)
    if folder is None or not reader.is_dir(folder):
        return None, []
    zips = [
        e for e in reader.list_dir(folder) if not e.is_dir and e.relpath.lower().endswith(".zip")
    ]
    # Newest by mtime; the name (which carries the date) breaks ties.
    zips.sort(key=lambda e: (e.mtime, e.relpath), reverse=True)
    return folder, zips


def inspect_services_zips(reader: TreeReader, datas_path: str) -> dict:
    """The newest zip and the Sms.db copy inside it (any folder level)."""
    folder, zips = list_zips(reader, datas_path)
    result: dict = {"path": folder, "zip_count": len(zips), "newest": None}
    if not zips:
        return result
    newest = zips[0]
    path = join(folder, newest.relpath)
    info: dict = {
        "name": newest.relpath,
        "path": path,
        "size": newest.size,
        "mtime": iso(newest.mtime),
        "age_hours": round((time.time() - newest.mtime) / 3600, 1),
        "members": None,
        "sms_db": None,
        "error": None,
    }
    try:
        with reader.open_local_copy(path) as local, zipfile.ZipFile(local) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            info["members"] = [m.filename for m in members]
            sms = next(
                (m for m in members if m.filename.rsplit("/", 1)[-1].lower() == "sms.db"), None
            )
            if sms is not None:
                mtime, source = member_mtime(sms)
                digest = hashlib.sha256()
                with archive.open(sms) as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        digest.update(chunk)
                info["sms_db"] = {
                    "member": sms.filename,
                    "size": sms.file_size,
                    "mtime": iso(mtime),
                    "mtime_ts": mtime,
                    "mtime_source": source,
                    "sha256": digest.hexdigest(),
                }
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        info["error"] = str(exc)
    result["newest"] = info
    return result


def sms_db_stale(live: dict | None, zipped: dict | None) -> bool | None:
    """True when the live Sms.db is missing or older than the zipped copy; None when there is
    no zipped copy to compare with. Identical contents are never stale."""
    if zipped is None:
        return None
    if live is None:
        return True
    if live.get("sha256") and live["sha256"] == zipped["sha256"]:
        return False
    return live["mtime_ts"] + TOLERANCE_SECONDS < zipped["mtime_ts"]
