"""Whole-tree listing (here and in a child process) agrees with the per-directory listing."""

import errno
import os

import pytest

from julieops.mirror import MirrorOptions, open_endpoint, run_mirror, treewalk
from julieops.mirror.endpoints.local import LocalEndpoint, TreeWalk
from julieops.mirror.treewalk import walk
from tests.julieops.mirror.trees import make_tree

SPEC = {
    "Datas": {"a.db": b"aaa", "b.db": b"", "Sub": {"c.db": b"c" * 5000}},
    "Logs": {"l.txt": b"log"},
    "empty": {},
}


def too_deep(root, levels=20):
    """A real directory whose absolute path exceeds PATH_MAX: listing it fails (ENAMETOOLONG)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    rel = []
    for _ in range(levels):
        name = "d" * 250
        os.mkdir(name, dir_fd=fd)
        child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd, rel = child, [*rel, name]
    os.close(fd)
    return "/".join(rel)


def test_it_lists_every_directory_like_list_dir(tmp_path):
    root = make_tree(tmp_path / "t", SPEC)
    (root / "Datas" / "link").symlink_to(root / "Logs")
    endpoint = LocalEndpoint(str(root))

    listings, errors = walk(str(root), [])

    assert errors == {}
    assert sorted(listings) == ["", "Datas", "Datas/Sub", "Logs", "empty"]  # link not entered
    for rel, records in listings.items():
        assert sorted(records) == sorted(tuple(e) for e in endpoint.list_dir(rel))
    assert ("link", "link", 0, 0, False, 0) in listings["Datas"]


def test_it_lists_in_a_child_process_the_same_as_here_and_skips_excluded_dirs(tmp_path):
    root = make_tree(tmp_path / "t", SPEC)
    walker = TreeWalk(str(root))

    here = walker.here(["logs"])
    child = walker.in_child(["logs"])()

    assert "Logs" not in here[0] and "Logs" not in child[0]
    assert {rel: sorted(map(tuple, r)) for rel, r in here[0].items()} == {
        rel: sorted(r) for rel, r in child[0].items()
    }


def test_it_reports_a_directory_the_child_could_not_list(tmp_path):
    root = make_tree(tmp_path / "t", SPEC)
    deep = too_deep(root / "Datas")

    listings, errors = TreeWalk(str(root)).in_child([])()

    (where, error), *_ = errors.items()
    assert len(errors) == 1 and deep.startswith(where.removeprefix("Datas/"))
    assert error[0] == errno.ENAMETOOLONG
    assert "Datas/Sub" in listings
    _, missing = TreeWalk(str(tmp_path / "nowhere")).in_child([])()
    assert missing[""][0] == errno.ENOENT


def test_it_keeps_extras_when_the_destination_listing_fails_in_the_child(tmp_path):
    src = make_tree(tmp_path / "src", SPEC)
    dst = make_tree(tmp_path / "dst", {"Datas": {"old.db": b"o"}})
    deep = too_deep(dst / "Datas")

    summary = run_mirror(open_endpoint(str(src)), open_endpoint(str(dst)), MirrorOptions(retries=0))

    assert (dst / "Datas" / "a.db").read_bytes() == b"aaa"
    assert not (dst / "Datas" / "old.db").exists()  # a readable extra still goes
    failed = [f for f in summary.failures if f["action"] == "list destination"]
    assert failed and failed[0]["path"].startswith(f"Datas/{deep[:250]}")
    assert summary.exit_code & 8


def test_it_deletes_nothing_when_a_source_directory_is_unlistable(tmp_path):
    src = make_tree(tmp_path / "src", SPEC)
    too_deep(src / "Logs")
    dst = make_tree(tmp_path / "dst", {"Old": {"x": b"x"}})

    options = MirrorOptions(force=True, retries=0)
    summary = run_mirror(open_endpoint(str(src)), open_endpoint(str(dst)), options)

    assert (dst / "Old" / "x").exists() and summary.deletions_blocked
    assert (dst / "Datas" / "Sub" / "c.db").stat().st_size == 5000
    assert any(f["action"] == "list source" for f in summary.failures)


def test_the_child_answers_the_same_without_memfd_nor_posix_spawn(tmp_path, monkeypatch):
    """Where there is neither (Windows), the child writes to an unlinked temporary file and is
    started by subprocess: the same answer."""
    root = make_tree(tmp_path / "t", SPEC)
    expected = TreeWalk(str(root)).in_child([])()
    monkeypatch.delattr(os, "memfd_create")
    monkeypatch.delattr(os, "posix_spawn")

    child = treewalk.start_child(str(root), [])
    assert child.proc is not None  # the subprocess path, not posix_spawn

    assert child.result() == expected


def test_a_child_nobody_took_is_stopped_and_its_file_closed(tmp_path):
    root = make_tree(tmp_path / "t", SPEC)
    treewalk.start_early(str(root), [])
    (child,) = treewalk._children.values()

    treewalk.stop_early()

    assert not treewalk._children
    with pytest.raises(OSError):
        os.fstat(child.fd)
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, 0)  # reaped


def test_a_failed_source_walk_leaves_no_child_behind(tmp_path, monkeypatch):
    """A worker process runs many mirrors: the destination's child is reaped even when the
    source's walk fails."""
    src = make_tree(tmp_path / "src", SPEC)
    dst = make_tree(tmp_path / "dst", SPEC)
    started = []
    real_start = treewalk.start_child
    monkeypatch.setattr(
        treewalk, "start_child", lambda *a: started.append(real_start(*a)) or started[-1]
    )

    def failing_walk(root, patterns=None, make=None):
        raise MemoryError("source walk failed")

    monkeypatch.setattr("julieops.mirror.endpoints.local.walk", failing_walk)
    summary = run_mirror(open_endpoint(str(src)), open_endpoint(str(dst)), MirrorOptions())

    assert summary.fatal and "source walk failed" in summary.fatal
    (child,) = started
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, 0)  # already reaped
    with pytest.raises(OSError):
        os.fstat(child.fd)


def test_a_child_reaped_by_someone_else_still_answers(tmp_path):
    root = make_tree(tmp_path / "t", SPEC)
    expected = TreeWalk(str(root)).here([])
    child = treewalk.start_child(str(root), [])
    os.waitpid(child.pid, 0)  # as a SIGCHLD handler of the host process would

    listings, errors = child.result()

    assert errors == {} and {r: sorted(v) for r, v in listings.items()} == {
        r: sorted(v) for r, v in expected[0].items()
    }
