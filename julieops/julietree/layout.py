"""Where a practice's Julie data lives on a machine, and how big each part is.

Default `C:\\Juliew`, often `C:\\partage\\Juliew`, sometimes under another top-level folder.
Imaging (`XRAY`, `IMAGE`/`IMAGES`, `XRAY3D`) may live in a different folder than the data: the
installer's imaging path points at the folder *containing* `XRAY` and `IMAGE`.

The search is depth-limited (`MAX_DEPTH` folders below a drive's root) and leaves Windows' own
folders and the user profiles (`Users`) aside. A Julie installation is a folder named `Juliew` holding `Datas`, or any folder
holding a `Datas` with Julie's markers: the sub-folders and files the procedure shows in it
(`pxdatas`, `JulieServicesDb`, `DatasJulieBackup`, `server.register`). Paths may hold spaces
(`C:\\partage\\Julie Data\\Juliew`): they are found, and `has_spaces` tells the step to refuse them.
"""

from __future__ import annotations

from .reader import TreeReader, find_child, join
from .timefmt import iso

DATA_FOLDERS = ("ARCH", "Datas", "DOCPATIENT", "fscan")
IMAGING_FOLDERS = ("IMAGE", "XRAY", "XRAY3D")
ALL_FOLDERS = DATA_FOLDERS + IMAGING_FOLDERS
_IMAGING_MARKERS = ("XRAY", "IMAGE", "IMAGES")
# What the procedure shows inside Datas (§4.7, the installer's folder list; §4.2, §4.3).
DATAS_MARKERS = ("pxdatas", "JulieServicesDb", "DatasJulieBackup", "server.register")
MAX_DEPTH = 4
# Windows' own folders: never a practice's data, and large to walk.
SKIPPED = {
    "windows",
    "program files",
    "program files (x86)",
    "programdata",
    "$recycle.bin",
    "system volume information",
    "recovery",
    "perflogs",
    "$windows.~bt",
    "$windows.~ws",
    "users",
}


def has_spaces(path: str) -> bool:
    return " " in (path or "")


def is_julie_datas(reader: TreeReader, datas: str) -> bool:
    return any(find_child(reader, datas, marker) for marker in DATAS_MARKERS)


def _datas_mtime(reader: TreeReader, datas: str) -> float:
    return max((e.mtime for e in reader.list_dir(datas) if not e.is_dir), default=0.0)


def scan_julie_roots(reader: TreeReader, max_depth: int = MAX_DEPTH) -> list[tuple[float, str]]:
    """(newest file time in Datas, folder) of every Julie installation up to `max_depth` folders
    below the root: folders named Juliew holding Datas, or holding a Datas with Julie's
    markers. Breadth first; nothing below a found installation is searched."""
    found: list[tuple[float, str]] = []
    level = [""]
    for depth in range(max_depth + 1):
        below = []
        for folder in level:
            datas = find_child(reader, folder, "Datas")
            named = folder.rsplit("/", 1)[-1].casefold() == "juliew"
            if datas and reader.is_dir(datas) and (named or is_julie_datas(reader, datas)):
                found.append((_datas_mtime(reader, datas), folder))
                continue
            if depth == max_depth:
                continue
            try:
                children = reader.list_dir(folder)
            except OSError:
                continue  # unreadable folder (access denied): not the practice's data
            below += [
                join(folder, e.relpath)
                for e in children
                if e.is_dir and not (folder == "" and e.relpath.casefold() in SKIPPED)
            ]
        level = below
    return found


def _candidate_parents(reader: TreeReader) -> list[str]:
    """The root and its top-level folders (so C:\\partage, C:\\Cabinet Dentaire, D-like dirs)."""
    parents = [""]
    parents += [e.relpath for e in reader.list_dir("") if e.is_dir]
    return parents


def find_julie_roots(reader: TreeReader) -> list[str]:
    """Julie installations on this tree (see `scan_julie_roots`), the most recently written
    first. A tree whose root itself holds Datas (a copy of the Juliew folder, e.g. a backup)
    gives [""]."""
    if find_child(reader, "", "Datas"):
        return [""]
    # The live data is the Datas folder written last (a stale copy elsewhere is older).
    return [folder for _, folder in sorted(scan_julie_roots(reader), key=lambda r: -r[0])]


def find_imaging_roots(reader: TreeReader, julie_root: str | None) -> list[str]:
    """Folders that contain XRAY or IMAGE(S): the Julie root first, then any top-level folder
    or its direct children (imaging on another folder or disk-like directory)."""
    found: list[str] = []

    def holds_imaging(folder: str) -> bool:
        return any(find_child(reader, folder, m) for m in _IMAGING_MARKERS)

    if julie_root is not None and holds_imaging(julie_root):
        found.append(julie_root)
    for parent in _candidate_parents(reader):
        if parent and parent not in found and holds_imaging(parent):
            found.append(parent)
        if not parent:
            continue
        for child in reader.list_dir(parent):
            path = join(parent, child.relpath)
            if child.is_dir and path not in found and path != julie_root and holds_imaging(path):
                found.append(path)
    return found


def folder_stats(reader: TreeReader, path: str | None) -> dict:
    if path is None or not reader.is_dir(path):
        return {"path": path, "exists": False, "size": 0, "files": 0, "dirs": 0, "newest": None}
    size = files = dirs = 0
    newest = None
    for entry in reader.walk(path):
        if entry.is_dir:
            dirs += 1
            continue
        files += 1
        size += entry.size
        newest = entry.mtime if newest is None else max(newest, entry.mtime)
    return {
        "path": path,
        "exists": True,
        "size": size,
        "files": files,
        "dirs": dirs,
        "newest": iso(newest),
    }


def locate_folders(reader: TreeReader, julie_root: str | None, imaging_roots: list[str]) -> dict:
    """Path of each of ARCH, Datas, DOCPATIENT, fscan, IMAGE, XRAY, XRAY3D (None when absent).
    Imaging folders are looked for in the Julie root first, then in the imaging roots."""
    located: dict[str, str | None] = {}
    for name in ALL_FOLDERS:
        parents = [julie_root] if julie_root is not None else []
        if name in IMAGING_FOLDERS:
            parents += [r for r in imaging_roots if r != julie_root]
        aliases = ("IMAGE", "IMAGES") if name == "IMAGE" else (name,)
        located[name] = next(
            (
                found
                for parent in parents
                for a in aliases
                if (found := find_child(reader, parent, a))
            ),
            None,
        )
    return located


def drive_path(drive: str, relpath: str) -> str:
    """How Windows writes a folder of a drive: drive_path("D:", "Imagerie") = D:\\Imagerie."""
    tail = (relpath or "").strip("/").replace("/", "\\")
    return f"{drive.rstrip(':').upper()}:\\{tail}"


def parse_drive_path(path: str) -> tuple[str, str] | None:
    """("D:", "Imagerie/2024") from D:\\Imagerie\\2024; None when not a drive path."""
    text = (path or "").strip().strip('"').replace("/", "\\")
    if len(text) < 2 or text[1] != ":" or not text[0].isalpha() or text[2:3] not in ("", "\\"):
        return None
    parts = [p for p in text[2:].split("\\") if p]
    if any(p in (".", "..") for p in parts):
        return None
    return text[0].upper() + ":", "/".join(parts)
