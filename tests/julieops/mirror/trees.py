"""Build small trees from a dict and take comparable snapshots of them."""

import hashlib
import os
import stat
from pathlib import Path

OLD = 1_600_000_000_000_000_000  # a fixed past mtime (ns)


def make_tree(root: Path, spec: dict, mtime_ns: int = OLD) -> Path:
    """{"a.txt": b"data", "dir": {...}, "empty": {}}; every mtime set to `mtime_ns`."""
    root.mkdir(parents=True, exist_ok=True)
    for name, value in spec.items():
        path = root / name
        if isinstance(value, dict):
            make_tree(path, value, mtime_ns)
        else:
            path.write_bytes(value)
            os.utime(path, ns=(mtime_ns, mtime_ns))
    os.utime(root, ns=(mtime_ns, mtime_ns))
    return root


def snapshot(root: Path, *, times: bool = True) -> dict:
    """rel -> (kind, sha256 or link target, mtime_ns, mode) for everything under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path), None, None)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", None, st.st_mtime_ns if times else None, None)
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                mode = stat.S_IMODE(st.st_mode)
                out[rel] = ("file", digest, st.st_mtime_ns if times else None, mode)
    return out


def without_links(snap: dict) -> dict:
    return {rel: v for rel, v in snap.items() if v[0] != "link"}
