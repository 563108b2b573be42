"""The simulated posts' state: one JSON file (`state.json` in the state folder), rewritten
atomically after every change, so a restarted simulator finds the posts as it left them. Each
post's drives are folders beside it (`posts/<name>/C`, `posts/<name>/D`)."""

from __future__ import annotations

import copy
import json
import os
import re
import threading
from pathlib import Path, PureWindowsPath

STATE_FILE = "state.json"
UNC = re.compile(r"^\\\\([^\\]+)\\([^\\]+)(?:\\(.*))?$")


class PathOutside(ValueError):
    """A Windows path that no drive of the post (or of the practice, for UNC) holds."""


class State:
    """All posts of one training practice. Every read and change goes through `lock`: the
    simulator answers several posts' requests on threads."""

    def __init__(self, folder: Path | str, data: dict):
        self.folder = Path(folder).resolve()
        self.data = data
        self.lock = threading.RLock()
        self._seen = self._stamp()

    def _stamp(self) -> int:
        path = self.folder / STATE_FILE
        return path.stat().st_mtime_ns if path.exists() else 0

    def refresh(self) -> None:
        """Read the file again when someone else (`python -m training programs`) rewrote it."""
        with self.lock:
            if self._stamp() != self._seen:
                self.data = json.loads((self.folder / STATE_FILE).read_text(encoding="utf-8"))
                self._seen = self._stamp()

    # -- file -------------------------------------------------------------------------------------

    @classmethod
    def load(cls, folder: Path | str) -> State:
        path = Path(folder) / STATE_FILE
        return cls(folder, json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def exists(cls, folder: Path | str) -> bool:
        return (Path(folder) / STATE_FILE).exists()

    def save(self) -> None:
        with self.lock:
            text = json.dumps(self.data, ensure_ascii=False, indent=1, sort_keys=True)
            temp = self.folder / (STATE_FILE + ".tmp")
            temp.write_text(text, encoding="utf-8")
            os.replace(temp, self.folder / STATE_FILE)
            self._seen = self._stamp()

    # -- posts ------------------------------------------------------------------------------------

    @property
    def posts(self) -> dict[str, dict]:
        return self.data["posts"]

    def post(self, name: str) -> dict:
        return self.posts[name]

    def post_by_host(self, host: str) -> tuple[str, dict] | None:
        """The post a UNC host names: its address or its Windows name."""
        for name, post in self.posts.items():
            if host.casefold() in (post["address"].casefold(), post["hostname"].casefold()):
                return name, post
        return None

    def snapshot(self, name: str) -> dict:
        with self.lock:
            return copy.deepcopy(self.posts[name])

    def drive_folder(self, name: str, letter: str) -> Path:
        drives = self.posts[name]["drives"]
        found = drives.get(letter.upper().rstrip(":") + ":")
        if found is None:
            raise PathOutside(f"lecteur {letter} absent de {self.posts[name]['hostname']}")
        return self.folder / found

    def local_path(self, name: str, windows: str) -> Path:
        """The folder or file standing for `windows` (C:\\…, D:/…, or \\\\host\\C$\\…) of post
        `name`; PathOutside for anything else (a relative path, `..`, an unknown share)."""
        text = (windows or "").strip()
        match = UNC.match(text)
        if match:
            found = self.post_by_host(match.group(1))
            if found is None:
                raise PathOutside(f"partage inconnu du simulateur : {text}")
            name, share, rest = found[0], match.group(2), match.group(3) or ""
            if re.fullmatch(r"[A-Za-z]\$", share):
                letter = share[0] + ":"
            else:  # a named share: the folder it points at
                path = next(
                    (x["Path"] for x in self.posts[name]["shares"]
                     if x["Name"].casefold() == share.casefold() and not x["Special"]),
                    None,
                )  # fmt: skip
                if path is None:
                    raise PathOutside(f"partage inconnu du simulateur : {text}")
                return self.local_path(name, path.rstrip("\\") + "\\" + rest)
        else:
            pure = PureWindowsPath(text.replace("/", "\\"))
            if not pure.drive or len(pure.drive) != 2 or not pure.root:
                raise PathOutside(f"chemin non absolu : {text!r}")
            letter, rest = pure.drive, "\\".join(pure.parts[1:])
        parts = [p for p in rest.replace("/", "\\").split("\\") if p]
        if any(p in (".", "..") for p in parts):
            raise PathOutside(f"chemin hors du poste : {text!r}")
        base = self.drive_folder(name, letter)
        return base.joinpath(*parts) if parts else base

    def windows_path(self, name: str, local: Path) -> str:
        """Inverse of local_path for a path inside one of the post's drives."""
        local = Path(local).resolve()
        for letter, folder in self.posts[name]["drives"].items():
            base = (self.folder / folder).resolve()
            if local == base or base in local.parents:
                rel = local.relative_to(base)
                return letter + "\\" + "\\".join(rel.parts)
        raise PathOutside(str(local))
