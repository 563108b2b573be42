"""Safety: dry run, interrupted copies, untouched source, guards, deletions, retries, cancel."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from julieops.mirror import MirrorOptions, open_endpoint, run_mirror
from julieops.mirror.endpoints import LocalEndpoint, is_temp_name
from tests.julieops.mirror.trees import make_tree, snapshot

ROOT = Path(__file__).resolve().parents[3]


def mirror(src, dst, **options):
    lines = []
    opts = MirrorOptions(retry_wait=0.01, **options)
    summary = run_mirror(
        open_endpoint(str(src)),
        open_endpoint(str(dst)),
        opts,
        log=lambda level, text: lines.append(text),
    )
    return summary, lines


def sample(tmp_path):
    src = make_tree(
        tmp_path / "src",
        {"Datas": {"new.dat": b"n" * 100, "chg.dat": b"source", "sub": {"deep.dat": b"d"}}},
    )
    dst = make_tree(tmp_path / "dst", {"Datas": {"chg.dat": b"dest!!", "extra.dat": b"e"}})
    os.utime(dst / "Datas" / "chg.dat", ns=(1, 1))
    return src, dst


def test_it_changes_nothing_in_a_dry_run_but_reports_everything(tmp_path):
    src, dst = sample(tmp_path)
    before_src, before_dst = snapshot(src), snapshot(dst)

    summary, lines = mirror(src, dst, dry_run=True)

    assert snapshot(src) == before_src and snapshot(dst) == before_dst
    assert not (dst / ".julieops-mirror").exists()
    assert summary.files.copied == 3 and summary.files.extras == 1 and summary.dirs.copied == 1
    assert summary.exit_code == 3 and summary.dry_run
    assert any(line.startswith("*FICHIER EN TROP") for line in lines)


def test_it_never_changes_the_source(tmp_path):
    src, dst = sample(tmp_path)
    (src / "Datas" / "ro.dat").write_bytes(b"r")
    (src / "Datas" / "ro.dat").chmod(0o444)
    os.utime(src / "Datas", ns=(5, 5))
    before = snapshot(src)
    atimes = {p: p.stat().st_atime_ns for p in src.rglob("*")}

    summary, _ = mirror(src, dst, verify_all=True)

    assert summary.exit_code == 3
    assert snapshot(src) == before
    assert {p: p.stat().st_atime_ns for p in src.rglob("*")} == atimes  # O_NOATIME reads
    assert snapshot(dst) == snapshot(src)


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from julieops.mirror import MirrorOptions, open_endpoint, run_mirror
    from julieops.mirror import localcopy
    localcopy.COPY_CHUNK = 1024 * 1024

    def progress(p):
        if p.current.endswith("big.bin") and 2**20 < p.bytes_done < p.bytes_total:
            os.kill(os.getpid(), signal.SIGKILL)  # like a power cut in the middle of the file

    run_mirror(open_endpoint(sys.argv[1]), open_endpoint(sys.argv[2]),
               MirrorOptions(threads=1, progress_interval=0), progress=progress)
    """
)


def test_it_leaves_no_partial_file_under_a_real_name_when_killed_and_a_rerun_completes(tmp_path):
    src = make_tree(
        tmp_path / "src",
        {"Datas": {"a_small.dat": b"s" * 10, "big.bin": os.urandom(8 * 1024 * 1024)}},
    )
    dst = make_tree(tmp_path / "dst", {"Datas": {"big.bin": b"previous good version"}})
    os.utime(dst / "Datas" / "big.bin", ns=(1, 1))

    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(src), str(dst)],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )

    assert proc.returncode == -signal.SIGKILL
    names = os.listdir(dst / "Datas")
    assert any(is_temp_name(n) for n in names), names  # the half-written file, under a temp name
    assert (dst / "Datas" / "big.bin").read_bytes() == b"previous good version"
    for name in names:
        if not is_temp_name(name):
            real = (dst / "Datas" / name).read_bytes()
            assert real == b"previous good version" or real == (src / "Datas" / name).read_bytes()

    summary, lines = mirror(src, dst)

    assert summary.exit_code == 3  # copied + the leftover temp file removed as an extra
    assert snapshot(dst) == snapshot(src)
    assert not [n for n in os.listdir(dst / "Datas") if is_temp_name(n)]


@pytest.mark.parametrize(
    "case",
    ["filesystem root", "same tree", "inside source", "source inside", "foreign tree"],
)
def test_it_refuses_each_bad_destination(tmp_path, case):
    src = make_tree(tmp_path / "src", {"Datas": {"a": b"a"}})
    foreign = make_tree(tmp_path / "foreign", {"Documents": {"cv.doc": b"cv"}})
    dst = {
        "filesystem root": Path("/"),
        "same tree": src,
        "inside source": src / "Datas" / "copy",
        "source inside": tmp_path,
        "foreign tree": foreign,
    }[case]
    before = snapshot(foreign)

    summary, _ = mirror(src, dst)

    assert summary.exit_code == 16 and summary.fatal.startswith("destination refusée")
    assert summary.files.copied == 0
    assert snapshot(foreign) == before
    assert not (src / "Datas" / "copy").exists()


def test_it_accepts_a_julie_tree_or_a_foreign_tree_with_force_and_leaves_no_marker(tmp_path):
    src = make_tree(tmp_path / "src", {"Datas": {"a": b"a"}})
    julie = make_tree(tmp_path / "julie", {"DATAS": {"old": b"o"}, "Prog": {}})
    assert mirror(src, julie)[0].exit_code == 3
    foreign = make_tree(tmp_path / "foreign", {"x": b"x"})
    assert mirror(src, foreign, force=True)[0].exit_code == 3
    # Nothing of the mirror's own inside the tree: exactly the source's names.
    assert sorted(p.name for p in foreign.iterdir()) == ["Datas"]
    # A marker left by an older version is no pass, and is deleted as an extra.
    other = make_tree(tmp_path / "other", {"x": b"x"})
    (other / ".julieops-mirror").write_text("{}")
    assert mirror(src, other)[0].exit_code == 16
    assert mirror(src, other, force=True)[0].exit_code == 3
    assert not (other / ".julieops-mirror").exists()


def test_it_stops_before_deleting_more_than_max_delete_unless_confirmed(tmp_path):
    src = make_tree(tmp_path / "src", {"Datas": {"a": b"a"}})
    dst = make_tree(tmp_path / "dst", {"Datas": {f"x{i}": b"x" for i in range(5)}})

    summary, _ = mirror(src, dst, max_delete=3)
    assert summary.deletions_blocked and summary.exit_code & 8
    assert len(list((dst / "Datas").iterdir())) == 6

    asked = []
    summary, _ = mirror(src, dst, max_delete=3, confirm_delete=lambda n: asked.append(n) or True)
    assert asked == [5] and summary.exit_code == 2
    assert [p.name for p in (dst / "Datas").iterdir()] == ["a"]


class FlakySource(LocalEndpoint):
    """A real local tree whose listing of one directory fails (an unreadable share folder)."""

    def __init__(self, path, broken_dir):
        super().__init__(path)
        self.broken_dir = broken_dir

    def list_dir(self, rel):
        if rel == self.broken_dir:
            raise PermissionError(13, "Accès refusé", self.path(rel))
        return super().list_dir(rel)


def test_it_deletes_nothing_when_the_source_listing_hit_an_error(tmp_path):
    src = make_tree(tmp_path / "src", {"Datas": {"a": b"a"}, "Patients": {"p1": b"1"}})
    dst = make_tree(
        tmp_path / "dst", {"Datas": {"stale": b"s"}, "Patients": {"p1": b"1"}, "Old": {}}
    )

    summary = run_mirror(
        FlakySource(str(src), "Patients"), open_endpoint(str(dst)), MirrorOptions(retry_wait=0)
    )

    assert (dst / "Datas" / "a").read_bytes() == b"a"  # copies still happen
    assert (dst / "Datas" / "stale").exists() and (dst / "Old").is_dir()  # deletions do not
    assert summary.deletions_blocked and summary.exit_code & 8
    assert summary.failures[0]["action"] == "list source"


class FailingSource(LocalEndpoint):
    """Reads of chosen files fail a given number of times (a locked file on the old server)."""

    def __init__(self, path, failures: dict):
        super().__init__(path)
        self.failures = dict(failures)

    def path(self, rel):
        if self.failures.get(rel, 0) > 0:
            self.failures[rel] -= 1
            raise PermissionError(32, "Fichier verrouillé", rel)
        return super().path(rel)


def test_it_retries_then_lists_failures_without_stopping_the_rest(tmp_path):
    src = make_tree(
        tmp_path / "src", {"Datas": {"locked.db": b"L", "flaky.db": b"F", "fine.db": b"ok"}}
    )
    dst = tmp_path / "dst"
    source = FailingSource(str(src), {"Datas/locked.db": 99, "Datas/flaky.db": 1})
    lines = []
    summary = run_mirror(
        source,
        open_endpoint(str(dst)),
        MirrorOptions(retries=2, retry_wait=0),
        log=lambda level, text: lines.append(text),
    )

    assert [f["path"] for f in summary.failures] == ["Datas/locked.db"]
    assert (dst / "Datas" / "flaky.db").read_bytes() == b"F"
    assert (dst / "Datas" / "fine.db").read_bytes() == b"ok"
    assert not (dst / "Datas" / "locked.db").exists()
    assert summary.files.failed == 1 and summary.files.copied == 2
    assert summary.exit_code == 9
    assert sum(line.startswith("Nouvelle tentative") for line in lines) == 3  # 2 + 1


def test_it_stops_between_files_when_cancelled_and_deletes_nothing(tmp_path):
    src = make_tree(tmp_path / "src", {"Datas": {f"f{i:02d}": b"x" for i in range(20)}})
    dst = make_tree(tmp_path / "dst", {"Datas": {"extra": b"e"}})
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 5

    summary = run_mirror(
        open_endpoint(str(src)), open_endpoint(str(dst)), MirrorOptions(threads=1), cancel=cancel
    )

    assert summary.cancelled and summary.exit_code & 8
    assert 0 < summary.files.copied < 20
    assert summary.files.copied + summary.files.failed == 20
    assert (dst / "Datas" / "extra").exists()
