"""Where a practice's Julie data lives on a machine, and how big each part is.

Default `C:\\Juliew`, often `C:\\partage\\Juliew`, sometimes under another top-level folder.
Imaging (`XRAY`, `IMAGE`/`IMAGES`, `XRAY3D`) may live in a different folder than the data: the
installer's imaging path points at the folder *containing* `XRAY` and `IMAGE`.
"""

from __future__ import annotations

from .reader import TreeReader, find_child, join
from .timefmt import iso

DATA_FOLDERS = ("ARCH", "Datas", "DOCPATIENT", "fscan")
IMAGING_FOLDERS = ("IMAGE", "XRAY", "XRAY3D")
ALL_FOLDERS = DATA_FOLDERS + IMAGING_FOLDERS
_IMAGING_MARKERS = ("XRAY", "IMAGE", "IMAGES")


def _candidate_parents(reader: TreeReader) -> list[str]:
    """The root and its top-level folders (so C:\\partage, C:\\Cabinet Dentaire, D-like dirs)."""
    parents = [""]
    parents += [e.relpath for e in reader.list_dir("") if e.is_dir]
    return parents


def find_julie_roots(reader: TreeReader) -> list[str]:
    """Folders named Juliew holding a Datas folder, the most recently written first. A tree
    whose root itself holds Datas (a copy of the Juliew folder, e.g. a backup) gives [""]."""
    if find_child(reader, "", "Datas"):
        return [""]
    roots = []
    for parent in _candidate_parents(reader):
        julie = find_child(reader, parent, "Juliew")
        datas = find_child(reader, julie, "Datas") if julie else None
        if datas:
            files = [e.mtime for e in reader.list_dir(datas) if not e.is_dir]
            roots.append((max(files, default=0.0), julie))
    # The live data is the Datas folder written last (a stale copy elsewhere is older).
    roots.sort(key=lambda r: -r[0])
    return [julie for _, julie in roots]


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
