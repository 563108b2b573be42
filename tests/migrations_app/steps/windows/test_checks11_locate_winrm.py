"""source.locate on an old server reached by WinRM: its fixed drives are asked for
(Win32_LogicalDisk), each drive is read through PowerShell; imaging on D: is found."""

import os
import shutil
from pathlib import Path

import pytest

from julieops.julietree.remote import LIST_DIR
from julieops.remote import winrm as scripts
from migrations_app.execution.machines import FIXED_DRIVES

from .conftest import run_step
from .conftest import scripts as sent

pytestmark = pytest.mark.django_db(transaction=True)


def windows_disk(drives: dict[str, Path]):
    """Answers of the scripts the tree reader sends, from local folders standing for drives."""

    def local(path):
        letter, _, rest = path.replace("\\", "/").partition(":")
        return drives[letter.upper() + ":"] / rest.strip("/")

    def entry(p: Path, name: str):
        st = p.stat()
        return {"n": name, "s": 0 if p.is_dir() else st.st_size, "m": st.st_mtime, "d": p.is_dir()}

    def stat(params):
        p = local(params["Path"])
        return {"s": 0 if p.is_dir() else p.stat().st_size, "m": p.stat().st_mtime, "d": p.is_dir()}

    def list_dir(params):
        return [{**entry(c, c.name), "l": False} for c in sorted(local(params["Path"]).iterdir())]

    def list_tree(params):
        root = local(params["Path"])
        found = []
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                p = Path(folder) / name
                rel = str(p.relative_to(root)).replace("/", "\\")
                found.append({"p": rel, **{k: v for k, v in entry(p, name).items() if k != "n"}})
        return found

    return {
        FIXED_DRIVES: [d for d in drives],
        scripts.STAT: stat,
        LIST_DIR: list_dir,
        scripts.LIST_TREE: list_tree,
    }


def test_it_finds_imaging_on_the_d_drive_of_a_windows_server(job, alice, windows, practice):
    c_drive = Path(practice.source.root_path)
    d_drive = c_drive.parent / "D-disque"
    (d_drive / "Radios").mkdir(parents=True)
    for name in ("XRAY", "IMAGE"):
        shutil.move(c_drive / "partage" / "Juliew" / name, d_drive / "Radios" / name)
    endpoint = windows.serve(job.source, windows_disk({"C:": c_drive, "D:": d_drive}))
    run = run_step(job, "source.locate", alice)
    assert run.status == "warning", (run.summary, run.error)
    items = {i["label"]: i for i in run.result["items"]}
    assert items["XRAY"]["windows_path"] == r"D:\Radios\XRAY"
    assert items["Imagerie sur D:"]["status"] == "warn"
    job.refresh_from_db()
    assert job.discovered_paths["julie_root_windows"] == r"C:\partage\Juliew"
    calls = sent(endpoint)
    assert (FIXED_DRIVES, {}) in calls
    assert any(s == LIST_DIR and p["Path"].startswith("D:/") for s, p in calls)
