"""A first copy of many files shared with a helper process gives the same tree and summary."""

import os
import sys

from julieops.mirror import MirrorOptions, engine, open_endpoint, run_mirror
from julieops.mirror.endpoints import is_temp_name
from julieops.mirror.entry import Entry
from julieops.mirror.plan import Copy
from tests.julieops.mirror.trees import make_tree, snapshot


def many_files(root, folders=6, per_folder=20):
    spec = {
        f"dossier_{d}": {f"f{i:03d}.dat": os.urandom(i * 37 % 5000) for i in range(per_folder)}
        for d in range(folders)
    }
    spec["dossier_0"]["big.bin"] = os.urandom(3 * 1024 * 1024)
    make_tree(root, spec)
    (root / "dossier_5" / "f001.dat").chmod(0o444)
    return root


def count_helped(monkeypatch) -> list:
    helped = []
    real = engine._Run.copy_in_helper

    def counting(self, jobs, record, tracker):
        done = real(self, jobs, record, tracker)
        helped.append(len(done))
        return done

    monkeypatch.setattr(engine._Run, "copy_in_helper", counting)
    return helped


def run(src, dst, **options):
    lines = []
    summary = run_mirror(
        open_endpoint(str(src)),
        open_endpoint(str(dst)),
        MirrorOptions(retry_wait=0, **options),
        log=lambda level, text: lines.append((level, text)),
    )
    return summary, lines


def test_it_splits_a_large_first_copy_with_a_helper_and_copies_everything(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "HELPER_MIN_FILES", 10)
    src = many_files(tmp_path / "src")
    mine, helped = engine.split_for_helper(
        [Copy(f"x/{i}", Entry(str(i), "file", 10), "lonely") for i in range(40)]
    )
    assert len(mine) == len(helped) == 20
    reported = count_helped(monkeypatch)

    summary, lines = run(src, tmp_path / "dst")

    assert len(reported) == 1 and 40 < reported[0] < 121  # the helper copied a share (by cost)
    assert summary.exit_code == 1 and summary.files.copied == 121 and not summary.failures
    assert snapshot(tmp_path / "dst") == snapshot(src)
    assert sum(1 for _, text in lines if text.startswith("Nouveau fichier")) == 121
    assert not [p for p in (tmp_path / "dst").rglob("*") if is_temp_name(p.name)]


def test_it_reports_the_helpers_failures_and_retries(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "HELPER_MIN_FILES", 10)
    src = many_files(tmp_path / "src")
    dst = tmp_path / "dst"
    real_split = engine.split_for_helper

    def split_then_lose_a_file(copies):
        mine, helped = real_split(copies)
        (src / helped[-1].rel).unlink()  # gone between the listing and the copy
        return mine, helped

    monkeypatch.setattr(engine, "split_for_helper", split_then_lose_a_file)
    reported = count_helped(monkeypatch)
    summary, lines = run(src, dst, retries=1)

    assert reported and reported[0] > 40  # the failure came back from the helper
    assert [f["path"] for f in summary.failures] == ["dossier_5/f019.dat"]
    assert "FileNotFoundError" in summary.failures[0]["error"]
    assert summary.files.failed == 1 and summary.files.copied == 120 and summary.exit_code == 9
    assert any(level == "warning" and "f019" in text for level, text in lines)  # the retry


def test_it_copies_everything_itself_when_the_helper_cannot_start(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "HELPER_MIN_FILES", 10)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python-here"))
    src = many_files(tmp_path / "src")

    reported = count_helped(monkeypatch)
    summary, _ = run(src, tmp_path / "dst")

    assert reported == [0] and summary.files.copied == 121 and not summary.failures
    assert snapshot(tmp_path / "dst") == snapshot(src)
