"""The CLI (python -m julieops.mirror and manage.py mirror), verification and the manifest."""

import json
import os
import subprocess
import sys
from pathlib import Path

import blake3
import pytest

from julieops.mirror import MirrorOptions, open_endpoint, run_mirror
from julieops.mirror.cli import _early_dest, main, parser
from tests.julieops.mirror.trees import make_tree, snapshot

ROOT = Path(__file__).resolve().parents[3]
KEYS = {"total", "copied", "skipped", "mismatch", "failed", "extras"}


def tree(tmp_path):
    src = make_tree(tmp_path / "src", {"Datas": {"a.dat": b"a" * 5000, "b.dat": b"b"}})
    dst = make_tree(tmp_path / "dst", {"Datas": {"z.old": b"zz"}})
    return src, dst


def test_it_prints_json_and_exits_with_the_robocopy_bitmask(tmp_path, capsys):
    src, dst = tree(tmp_path)
    code = main([str(src), str(dst), "--json"])
    data = json.loads(capsys.readouterr().out)

    assert code == 3 == data["exit_code"]
    for key in ("dirs", "files", "bytes"):
        assert set(data[key]) == KEYS and all(isinstance(v, int) for v in data[key].values())
    assert data["files"]["copied"] == 2 and data["bytes"]["copied"] == 5001
    assert data["files"]["extras"] == 1 and data["failures"] == []
    assert main([str(src), str(dst), "--json"]) == 0


def test_it_prints_a_robocopy_style_summary_and_changes_nothing_in_dry_run(tmp_path, capsys):
    src, dst = tree(tmp_path)
    before = snapshot(dst)
    code = main([str(src), str(dst), "--dry-run"])
    out = capsys.readouterr().out

    assert code == 3 and snapshot(dst) == before
    assert "New File\t5000\tDatas/a.dat" in out and "*EXTRA File\t2\tDatas/z.old" in out
    header = next(line for line in out.splitlines() if "Total" in line)
    assert header.split() == ["Total", "Copied", "Skipped", "Mismatch", "FAILED", "Extras"]
    files = next(line for line in out.splitlines() if line.strip().startswith("Files :"))
    assert files.split()[2:] == ["2", "2", "0", "0", "0", "1"]  # Total Copied … Extras


def test_it_runs_as_a_manage_py_command_with_the_bitmask_as_status(tmp_path):
    src, dst = tree(tmp_path)
    args = [sys.executable, "manage.py", "mirror", str(src), str(dst), "--json"]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert json.loads(proc.stdout)["files"]["copied"] == 2
    refused = subprocess.run(
        [sys.executable, "-m", "julieops.mirror", str(src), str(src / "Datas")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 16 and "FATAL" in refused.stdout


def test_it_finds_a_corrupted_copy_with_verify_all_and_writes_a_manifest(tmp_path, capsys):
    src, dst = tree(tmp_path)
    assert main([str(src), str(dst), "--verify", "--json"]) == 3
    target = dst / "Datas" / "a.dat"
    stat = target.stat()
    target.write_bytes(b"X" + b"a" * 4999)  # same size, same time: invisible to the quick check
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    capsys.readouterr()

    assert main([str(src), str(dst), "--json"]) == 0
    capsys.readouterr()
    manifest = tmp_path / "manifest.jsonl"
    code = main([str(src), str(dst), "--verify-all", "--json", "--manifest", str(manifest)])
    data = json.loads(capsys.readouterr().out)

    assert code == 8 and data["files"]["failed"] == 1
    assert [f["path"] for f in data["failures"]] == ["Datas/a.dat"]
    lines = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert lines[0]["manifest"] == "julieops-mirror/1"
    b = next(r for r in lines[1:] if r["path"] == "Datas/b.dat")
    assert b["blake3"] == blake3.blake3(b"b").hexdigest() and b["size"] == 1


def test_it_reports_progress_and_french_log_lines_to_the_caller(tmp_path):
    src, dst = tree(tmp_path)
    seen, lines = [], []
    summary = run_mirror(
        open_endpoint(str(src)),
        open_endpoint(str(dst)),
        MirrorOptions(threads=2, progress_interval=0),
        progress=seen.append,
        log=lambda lvl, text: lines.append((lvl, text)),
    )

    assert summary.exit_code == 3
    last = seen[-1]
    assert (last.files_done, last.files_total) == (2, 2)
    assert last.bytes_done == last.bytes_total == 5001 and last.eta == 0
    assert ("info", "Nouveau fichier\t5000\tDatas/a.dat") in lines
    assert ("info", "*FICHIER EN TROP\t2\tDatas/z.old") in lines


@pytest.mark.parametrize(
    "argv",
    [
        ["src", "dst"],
        ["src", "dst", "--json", "--force", "--threads", "4"],
        ["/a b/src", "dst", "--max-delete", "10", "--dry-run"],
        ["src", "dst", "--exclude", "*.tmp"],
        ["src", "dst", "--excl=*.tmp"],
        ["--json", "src", "dst"],
        ["--threads", "4", "src", "dst"],
        ["src", "--force", "dst"],
        ["sftp://h/x", "dst"],
        ["src", "smb://h/share"],
        ["--", "-src", "dst"],
    ],
)
def test_the_early_listing_guesses_src_and_dst_only_where_argparse_reads_them_so(argv):
    guess = _early_dest(argv)
    args = parser().parse_args(argv)
    if guess is not None:
        assert guess == args.dest and argv[0] == args.source and args.exclude == []
    elif argv[:2] == ["src", "dst"]:  # the plain lines the guess is there for
        assert args.exclude, argv
