import os

import paramiko
import pytest

from julieops.remote import (
    AuthenticationFailed,
    CommandCancelled,
    HostKeyChanged,
    HostKeyUnconfirmed,
    NotSupported,
)
from julieops.remote.hostkeys import fetch_ssh_host_key, ssh_fingerprint
from tests.support.process_tree import gone_soon, run_child_then_cancel


@pytest.fixture
def ssh(sshd):
    transport = sshd.transport()
    yield transport
    transport.close()


def test_it_fetches_the_host_key_fingerprint_without_authenticating(sshd):
    key_type, fingerprint = fetch_ssh_host_key(sshd.host, sshd.port)
    assert key_type == "ssh-ed25519"
    assert fingerprint == sshd.host_key_fingerprint()


def test_it_refuses_a_first_contact_and_carries_the_observed_fingerprint(sshd):
    transport = sshd.transport(pinned_fingerprint=None)
    with pytest.raises(HostKeyUnconfirmed) as caught:
        transport.run(["true"])
    assert caught.value.observed_fingerprint == sshd.host_key_fingerprint()
    assert sshd.host_key_fingerprint() in str(caught.value)


def test_it_refuses_a_changed_host_key(sshd):
    other = ssh_fingerprint(paramiko.ECDSAKey.generate())
    transport = sshd.transport(pinned_fingerprint=other)
    with pytest.raises(HostKeyChanged) as caught:
        transport.run(["true"])
    assert caught.value.observed_fingerprint == sshd.host_key_fingerprint()
    assert caught.value.expected_fingerprint == other


def test_it_streams_lines_stderr_and_the_exit_code(ssh):
    seen = []
    result = ssh.run(
        ["sh", "-c", "echo one; echo oops >&2; printf 'two\\nthree'; exit 3"],
        on_line=lambda stream, line: seen.append((stream, line)),
    )
    assert result.exit_code == 3
    assert result.stdout == "one\ntwo\nthree"
    assert result.stderr == "oops\n"
    assert [line for stream, line in seen if stream == "stdout"] == ["one", "two", "three"]
    assert ("stderr", "oops") in seen


def test_it_drains_output_larger_than_the_channel_window(ssh):
    result = ssh.run(["sh", "-c", "head -c 6000000 /dev/zero | od -An -v | head -c 6000000"])
    assert result.exit_code == 0
    assert len(result.stdout) == 6_000_000


def test_it_passes_stdin_and_quotes_arguments(ssh):
    result = ssh.run(["sh", "-c", 'cat; echo "$1"', "x", "a b; rm -rf /nope"], stdin=b"in\n")
    assert result.stdout == "in\na b; rm -rf /nope\n"


def test_it_kills_the_remote_process_tree_on_cancel(ssh, tmp_path):
    pid_file = tmp_path / "child.pid"
    with pytest.raises(CommandCancelled):
        run_child_then_cancel(ssh, pid_file)
    if not gone_soon(int(pid_file.read_text())):
        pytest.fail("the remote child survived the cancel")


def test_it_reads_writes_atomically_and_lists_over_sftp(ssh, tmp_path):
    target = tmp_path / "data" / "Datas"
    target.mkdir(parents=True)
    (target / "old.btr").write_bytes(b"old")
    ssh.write_file(str(target / "old.btr"), b"new content")
    ssh.write_file(str(target / "fresh.dat"), b"x" * 70000)
    (target / "sub").mkdir()
    (target / "sub" / "inner.txt").write_text("inner")
    os.symlink(str(tmp_path), str(target / "loop"))
    assert ssh.read_file(str(target / "old.btr")) == b"new content"
    assert sorted(os.listdir(target)) == ["fresh.dat", "loop", "old.btr", "sub"]  # no temp left
    stat = ssh.stat(str(target / "fresh.dat"))
    assert (stat.size, stat.is_dir) == (70000, False)
    tree = {entry.path: entry for entry in ssh.list_tree(str(target))}
    assert set(tree) == {"fresh.dat", "loop", "old.btr", "sub", "sub/inner.txt"}
    assert tree["sub"].is_dir and not tree["loop"].is_dir


def test_it_keeps_the_password_out_of_errors_and_reprs(sshd):
    secret = "Sup3r-Secret-Pw!"
    transport = sshd.transport(pkey=None, password=secret, retries=0)
    with pytest.raises(AuthenticationFailed) as caught:
        transport.run(["true"])
    assert secret not in str(caught.value) and secret not in repr(caught.value)
    assert secret not in repr(transport) and secret not in str(vars(transport).keys())


def test_it_refuses_powershell_on_a_posix_host(ssh):
    with pytest.raises(NotSupported):
        ssh.powershell("Get-Date")
