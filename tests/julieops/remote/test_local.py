import os

import pytest

from julieops.remote import CommandCancelled, NotSupported, open_transport
from tests.support.process_tree import gone_soon, run_child_then_cancel


@pytest.fixture
def local():
    return open_transport("local", "demo")


def test_it_runs_argument_lists_without_a_shell(local):
    seen = []
    result = local.run(
        ["sh", "-c", 'echo "$1"; echo err >&2; exit 4', "x", "a; touch /tmp/nope-$$"],
        on_line=lambda stream, line: seen.append((stream, line)),
    )
    assert (result.exit_code, result.stdout, result.stderr) == (
        4,
        "a; touch /tmp/nope-$$\n",
        "err\n",
    )
    assert ("stdout", "a; touch /tmp/nope-$$") in seen and ("stderr", "err") in seen


def test_it_passes_stdin(local):
    assert local.run(["cat"], stdin=b"hello\n").stdout == "hello\n"


def test_it_kills_the_process_tree_on_cancel(local, tmp_path):
    pid_file = tmp_path / "pid"
    with pytest.raises(CommandCancelled):
        run_child_then_cancel(local, pid_file)
    if not gone_soon(int(pid_file.read_text())):
        pytest.fail("the child survived the cancel")


def test_it_writes_atomically_and_lists_without_following_links(local, tmp_path):
    (tmp_path / "Datas").mkdir()
    local.write_file(str(tmp_path / "Datas" / "a.btr"), b"one")
    local.write_file(str(tmp_path / "Datas" / "a.btr"), b"two!")
    os.symlink(str(tmp_path), str(tmp_path / "Datas" / "loop"))
    assert local.read_file(str(tmp_path / "Datas" / "a.btr")) == b"two!"
    assert sorted(os.listdir(tmp_path / "Datas")) == ["a.btr", "loop"]
    tree = {entry.path: entry for entry in local.list_tree(str(tmp_path))}
    assert set(tree) == {"Datas", "Datas/a.btr", "Datas/loop"}
    assert tree["Datas"].is_dir and not tree["Datas/loop"].is_dir
    assert local.stat(str(tmp_path / "Datas" / "a.btr")).size == 4


def test_it_says_powershell_must_be_checked_by_hand_on_linux(local):
    with pytest.raises(NotSupported, match="à la main"):
        local.powershell("Get-CimInstance Win32_ComputerSystem")
