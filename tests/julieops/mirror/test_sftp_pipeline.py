"""SFTP upload of small files, several in flight on one channel (SftpEndpoint.store_many),
against the real sshd: the copy is exact, requests overlap, and a file that fails in the
pipeline (bad reply, refused posix-rename, lost connection, unreadable source) leaves no
temporary behind and goes on through the engine's retries."""

import os

import pytest

from julieops.mirror import MirrorOptions, open_endpoint, run_mirror
from julieops.mirror.endpoints import sftp as sftp_module
from julieops.mirror.endpoints.base import is_temp_name
from tests.julieops.mirror.trees import make_tree, snapshot


def many_small(root, folders=4, per_folder=30):
    spec = {
        f"dossier_{d}": {f"f_{i:03d}.dat": os.urandom(37 * i) for i in range(per_folder)}
        for d in range(folders)
    }
    spec["dossier_0"]["gros.dat"] = os.urandom(3 * 32768 + 5)  # several WRITEs
    tree = make_tree(root, spec)
    (tree / "dossier_0" / "ro.dat").write_bytes(b"lecture seule")
    (tree / "dossier_0" / "ro.dat").chmod(0o444)
    return tree


def files_of(snap):
    """Names, bytes, modes and mtimes at SFTP v3's resolution (whole seconds)."""
    return {
        rel: (digest, mtime // 1_000_000_000, mode)
        for rel, (kind, digest, mtime, mode) in snap.items()
        if kind == "file"
    }


def temporaries(root):
    return [p for p in root.rglob("*") if is_temp_name(p.name)]


@pytest.fixture
def sftp_dest(sshd):
    def make(path):
        url = f"sftp://{sshd.username}@{sshd.host}:{sshd.port}{path}"
        return open_endpoint(url, pkey=sshd.client_key, host_key=sshd.host_key)

    return make


def test_small_files_are_uploaded_several_at_once_and_exactly(tmp_path, sftp_dest, monkeypatch):
    src, remote = many_small(tmp_path / "src"), tmp_path / "remote"
    in_flight, flush = [], sftp_module._Pipeline.flush

    def counting(pipeline):
        in_flight.append(len(pipeline.client._expecting))  # requests sent, not yet answered
        flush(pipeline)

    monkeypatch.setattr(sftp_module._Pipeline, "flush", counting)
    with open_endpoint(str(src)) as a, sftp_dest(str(remote)) as b:
        pushed = run_mirror(a, b, MirrorOptions(threads=1, verify=True))
        # OpenSSH says its max-write-length (limits@openssh.com): fewer, larger WRITEs.
        assert sftp_module.WRITE_REQUEST < b.write_size <= sftp_module.MAX_WRITE_REQUEST
    assert pushed.exit_code == 1, pushed.failures
    assert pushed.files.copied == 122 and pushed.files.failed == 0
    assert files_of(snapshot(remote)) == files_of(snapshot(src))
    assert (remote / "dossier_0" / "ro.dat").stat().st_mode & 0o777 == 0o444
    assert temporaries(remote) == []
    # One channel (threads=1): one file at a time would never have more than one request
    # waiting; here whole files' OPEN, WRITEs, FSETSTAT and CLOSE overlap.
    assert max(in_flight) >= sftp_module.PIPELINE_FILES


def test_a_changed_file_replaces_the_old_one_through_the_pipeline(tmp_path, sftp_dest):
    src, remote = many_small(tmp_path / "src", folders=1, per_folder=5), tmp_path / "remote"
    with open_endpoint(str(src)) as a, sftp_dest(str(remote)) as b:
        first = run_mirror(a, b, MirrorOptions())
        assert first.exit_code == 1, (first.fatal, first.failures)
        for name in ("f_001.dat", "f_002.dat"):
            (src / "dossier_0" / name).write_bytes(b"nouvelle version " + name.encode())
        again = run_mirror(a, b, MirrorOptions(force=True))  # no Julie marker in these trees
    assert again.exit_code == 1 and again.files.copied == 2, again.failures
    assert (remote / "dossier_0" / "f_001.dat").read_bytes() == b"nouvelle version f_001.dat"
    assert files_of(snapshot(remote)) == files_of(snapshot(src))
    assert temporaries(remote) == []


def test_a_write_refused_by_the_server_leaves_no_temporary_and_is_retried(
    tmp_path, sftp_dest, monkeypatch
):
    src, remote = many_small(tmp_path / "src", folders=1, per_folder=10), tmp_path / "remote"
    pump, spoiled = sftp_module._Pipeline.pump, []

    def spoil_one(pipeline):
        for f in pipeline.writing:
            if f.final.endswith("f_004.dat") and not spoiled:
                spoiled.append(f.tmp)
                f.handle = b"not-a-handle"  # the server answers its WRITE with an error status
        pump(pipeline)

    monkeypatch.setattr(sftp_module._Pipeline, "pump", spoil_one)
    lines = []
    with open_endpoint(str(src)) as a, sftp_dest(str(remote)) as b:
        pushed = run_mirror(
            a, b, MirrorOptions(retry_wait=0.01), log=lambda level, text: lines.append(text)
        )
    assert spoiled, "the fault was not injected"
    assert pushed.exit_code == 1 and pushed.files.failed == 0, pushed.failures
    assert files_of(snapshot(remote)) == files_of(snapshot(src))
    assert temporaries(remote) == [] and not os.path.exists(spoiled[0])
    retries = [t for t in lines if t.startswith("Nouvelle tentative")]
    assert len(retries) == 1 and "f_004.dat" in retries[0]


def test_without_retries_the_failed_file_is_reported_and_the_others_copied(
    tmp_path, sftp_dest, monkeypatch
):
    src, remote = many_small(tmp_path / "src", folders=1, per_folder=10), tmp_path / "remote"
    pump = sftp_module._Pipeline.pump

    def spoil(pipeline):
        for f in pipeline.writing:
            if f.final.endswith("f_007.dat"):
                f.handle = b"not-a-handle"
        pump(pipeline)

    monkeypatch.setattr(sftp_module._Pipeline, "pump", spoil)
    with open_endpoint(str(src)) as a, sftp_dest(str(remote)) as b:
        pushed = run_mirror(a, b, MirrorOptions(retries=0))
    assert pushed.files.failed == 1 and pushed.files.copied == 11
    assert [f["path"] for f in pushed.failures] == ["dossier_0/f_007.dat"]
    assert pushed.exit_code & 8  # robocopy's "failures"
    assert not (remote / "dossier_0" / "f_007.dat").exists()
    assert temporaries(remote) == []


def test_a_server_refusing_posix_rename_gets_the_plain_rename(tmp_path, sftp_dest, monkeypatch):
    src, remote = many_small(tmp_path / "src", folders=2, per_folder=8), tmp_path / "remote"
    queue = sftp_module._Pipeline.queue

    def no_posix_rename(pipeline, cmd, *args):
        if args[:1] == ("posix-rename@openssh.com",):  # as a server without the extension
            args = ("no-such-extension@example.invalid", *args[1:])
        return queue(pipeline, cmd, *args)

    monkeypatch.setattr(sftp_module._Pipeline, "queue", no_posix_rename)
    with open_endpoint(str(src)) as a, sftp_dest(str(remote)) as b:
        pushed = run_mirror(a, b, MirrorOptions())
        (src / "dossier_0" / "f_003.dat").write_bytes(b"remplace")
        again = run_mirror(a, b, MirrorOptions(force=True))  # no Julie marker in these trees
        assert b.posix_rename is False
    assert pushed.exit_code == 1 and pushed.files.copied == 18, (pushed.fatal, pushed.failures)
    assert again.exit_code == 1 and again.files.copied == 1, again.failures
    assert (remote / "dossier_0" / "f_003.dat").read_bytes() == b"remplace"
    assert files_of(snapshot(remote)) == files_of(snapshot(src))
    assert temporaries(remote) == []


def test_a_connection_lost_mid_pipeline_fails_its_files_over_to_a_new_one(
    tmp_path, sftp_dest, monkeypatch
):
    src, remote = many_small(tmp_path / "src", folders=2, per_folder=30), tmp_path / "remote"
    finish, cut = sftp_module._Pipeline.finish, []

    def cut_after_ten(pipeline, f, error):
        finish(pipeline, f, error)
        if len(cut) < 10:
            cut.append(f.final)
            if len(cut) == 10:
                pipeline.client.get_channel().get_transport().close()  # the link drops

    monkeypatch.setattr(sftp_module._Pipeline, "finish", cut_after_ten)
    with open_endpoint(str(src)) as a, sftp_dest(str(remote)) as b:
        pushed = run_mirror(a, b, MirrorOptions(threads=1, retry_wait=0.01))
    assert len(cut) == 10
    assert pushed.exit_code == 1 and pushed.files.failed == 0, pushed.failures
    assert pushed.files.copied == 62
    assert files_of(snapshot(remote)) == files_of(snapshot(src))


def test_a_source_file_unreadable_once_is_retried(tmp_path, sftp_dest):
    src, remote = many_small(tmp_path / "src", folders=1, per_folder=6), tmp_path / "remote"
    failed = []

    with open_endpoint(str(src)) as a, sftp_dest(str(remote)) as b:
        read_chunks = a.read_chunks

        def flaky(rel, size, *args):
            if rel.endswith("f_002.dat") and not failed:
                failed.append(rel)
                raise OSError(5, "Input/output error")
            return read_chunks(rel, size, *args)

        a.read_chunks = flaky
        pushed = run_mirror(a, b, MirrorOptions(retry_wait=0.01))
    assert failed == ["dossier_0/f_002.dat"]
    assert pushed.exit_code == 1 and pushed.files.failed == 0, pushed.failures
    assert files_of(snapshot(remote)) == files_of(snapshot(src))


def test_a_cancel_stops_starting_files(tmp_path, sftp_dest):
    src, remote = many_small(tmp_path / "src", folders=2, per_folder=40), tmp_path / "remote"
    stored = []

    def cancel():
        return len(stored) >= 5

    with open_endpoint(str(src)) as a, sftp_dest(str(remote)) as b:
        store_many = b.store_many

        def counting(jobs, done, cancelled):
            def note(i, error):
                stored.append(i)
                done(i, error)

            store_many(jobs, note, cancelled)

        b.store_many = counting
        pushed = run_mirror(a, b, MirrorOptions(threads=1), cancel=cancel)
    assert pushed.cancelled
    copied = [p for p in remote.rglob("*.dat")]
    # What was in flight when the cancel came finished; nothing after it started.
    assert 5 <= len(copied) <= 5 + sftp_module.PIPELINE_FILES
    assert pushed.files.copied == len(copied)
    assert pushed.files.copied + pushed.files.failed == 82
    assert temporaries(remote) == []


def test_large_files_stream_through_a_window_and_a_failure_mid_file_is_cleaned_up(
    tmp_path, sftp_dest, monkeypatch
):
    big = os.urandom(3 * 1024 * 1024 + 123)
    src = make_tree(tmp_path / "src", {"Images": {f"radio_{i}.jpg": big[i:] for i in range(3)}})
    remote = tmp_path / "remote"
    monkeypatch.setattr(sftp_module, "WRITE_WINDOW", 4 * 32768)  # the window fills mid-file
    monkeypatch.setattr(sftp_module, "MAX_WRITE_REQUEST", 32768)
    pump, spoiled, most = sftp_module._Pipeline.pump, [], []

    def spoil_mid_file(pipeline):
        f = pipeline.writing[0] if pipeline.writing else None
        if f and f.final.endswith("radio_1.jpg") and f.offset > 1024 * 1024 and not spoiled:
            spoiled.append(f.tmp)
            f.handle = b"not-a-handle"  # this WRITE fails while more of the file is to come
        pump(pipeline)
        most.append(pipeline.unacked)

    monkeypatch.setattr(sftp_module._Pipeline, "pump", spoil_mid_file)
    with open_endpoint(str(src)) as a, sftp_dest(str(remote)) as b:
        pushed = run_mirror(a, b, MirrorOptions(threads=1, retry_wait=0.01, verify=True))
    assert spoiled, "the fault was not injected"
    assert pushed.exit_code == 1 and pushed.files.failed == 0, pushed.failures
    assert files_of(snapshot(remote)) == files_of(snapshot(src))
    assert temporaries(remote) == []
    assert 0 < max(most) < 5 * 32768  # the window (its last request may cross it), no more


def test_a_source_failing_mid_file_leaves_no_temporary(tmp_path, sftp_dest):
    src = make_tree(tmp_path / "src", {"a.dat": os.urandom(200_000), "b.dat": b"b"})
    remote = tmp_path / "remote"
    with open_endpoint(str(src)) as a, sftp_dest(str(remote)) as b:
        read_chunks = a.read_chunks

        def broken(rel, size, *args):
            for n, chunk in enumerate(read_chunks(rel, size, 65536)):
                if rel == "a.dat" and n == 1:
                    raise OSError(5, "Input/output error")
                yield chunk

        a.read_chunks = broken
        pushed = run_mirror(a, b, MirrorOptions(retries=1, retry_wait=0.01))
    assert pushed.files.failed == 1 and pushed.files.copied == 1
    assert "Input/output error" in pushed.failures[0]["error"]
    assert not (remote / "a.dat").exists() and (remote / "b.dat").read_bytes() == b"b"
    assert temporaries(remote) == []
