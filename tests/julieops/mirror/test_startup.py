"""The command line starts fast: a local mirror loads no network, hashing or thread libraries."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("blake3", "paramiko", "smbprotocol", "concurrent.futures", "hashlib", "logging")


def test_it_imports_the_cli_without_heavy_modules():
    code = (
        "import sys, julieops.mirror.cli\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_it_still_offers_write_manifest_from_the_package(tmp_path):
    from julieops.mirror import write_manifest

    digest = write_manifest(str(tmp_path / "m.jsonl"), [{"path": "a", "size": 1}])
    assert len(digest) == 64 and (tmp_path / "m.jsonl").read_text().count("\n") == 2


def test_it_imports_the_package_without_the_engine():
    code = "import sys, julieops.mirror\nprint('julieops.mirror.engine' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_it_hands_the_early_destination_listing_to_the_planner(tmp_path, monkeypatch, capsys):
    from julieops.mirror import cli, treewalk
    from tests.julieops.mirror.trees import make_tree, snapshot

    src = make_tree(tmp_path / "src", {"Datas": {"a.db": b"a", "b.db": b"b"}})
    dst = make_tree(tmp_path / "dst", {"Datas": {"a.db": b"old", "gone.db": b"x"}})
    started = []
    real = treewalk.start_child
    monkeypatch.setattr(treewalk, "start_child", lambda *a: started.append(a) or real(*a))

    code = cli.main([str(src), str(dst), "--json", "--force"])

    assert code == 3 and snapshot(dst) == snapshot(src)
    assert started == [(str(dst), [])]  # one child: the early one, taken over by the planner
    assert treewalk._children == {}


def test_it_stops_an_unused_early_listing_when_the_destination_is_refused(tmp_path, capsys):
    from julieops.mirror import cli, treewalk
    from tests.julieops.mirror.trees import make_tree

    src = make_tree(tmp_path / "src", {"Datas": {"a.db": b"a"}})
    dst = make_tree(tmp_path / "dst", {"Documents": {"cv.odt": b"mine"}})

    code = cli.main([str(src), str(dst), "--json"])

    assert code == 16 and "refusée" in capsys.readouterr().out
    assert treewalk._children == {} and (dst / "Documents" / "cv.odt").read_bytes() == b"mine"
