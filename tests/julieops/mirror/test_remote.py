"""SFTP against a real sshd and SMB against a real Samba, both directions."""

import errno
import os
import unicodedata

import paramiko
import pytest

from julieops.mirror import MirrorOptions, open_endpoint, run_mirror
from tests.julieops.mirror.trees import make_tree, snapshot

NFC = unicodedata.normalize("NFC", "Hélène")
LONG = "/".join(f"niveau_{i}_" + "y" * 45 for i in range(5))


def julie_tree(root):
    tree = make_tree(
        root,
        {
            "Datas": {
                "PATIENT.DAT": os.urandom(300_000),
                "vide.dat": b"",
                NFC + ".txt": b"nfc",
                unicodedata.normalize("NFD", NFC) + ".txt": b"nfd",
                "Images": {},
            }
        },
    )
    deep = tree / "Datas" / LONG
    deep.mkdir(parents=True)
    (deep / "bout.txt").write_bytes(b"fin")
    os.utime(deep / "bout.txt", ns=(1_600_000_000_000_000_000,) * 2)
    (tree / "Datas" / "ro.dat").write_bytes(b"ro")
    (tree / "Datas" / "ro.dat").chmod(0o444)
    return tree


def same_content(a, b, resolution_ns=1_000_000_000):
    """Names, kinds and bytes equal; times equal at the remote side's resolution
    (SFTP v3: whole seconds; SMB: 100 ns)."""

    def reduce(snap):
        return {
            rel: (k, h, m // resolution_ns if m is not None else None)
            for rel, (k, h, m, _mode) in snap.items()
        }

    return reduce(snapshot(a)) == reduce(snapshot(b))


@pytest.fixture
def sftp_url(sshd):
    def make(path):
        return f"sftp://{sshd.username}@{sshd.host}:{sshd.port}{path}"

    return make


def sftp(sshd, url, **kw):
    return open_endpoint(url, pkey=sshd.client_key, host_key=sshd.host_key, **kw)


def test_it_mirrors_to_and_from_sftp(tmp_path, sshd, sftp_url):
    src = julie_tree(tmp_path / "src")
    remote = tmp_path / "remote"
    make_tree(remote, {"Datas": {"extra.old": b"x"}})
    opts = MirrorOptions(verify=True, retry_wait=0.01)

    with open_endpoint(str(src)) as a, sftp(sshd, sftp_url(str(remote))) as b:
        pushed = run_mirror(a, b, opts)
        again = run_mirror(a, b, MirrorOptions(verify_all=True))
    assert pushed.exit_code == 3, pushed.failures
    assert pushed.files.copied == 6 and pushed.files.extras == 1
    assert same_content(src, remote)
    assert (remote / "Datas" / "ro.dat").stat().st_mode & 0o777 == 0o444
    assert again.exit_code == 0 and again.files.skipped == 6

    back = tmp_path / "back"
    with sftp(sshd, sftp_url(str(remote))) as a, open_endpoint(str(back)) as b:
        pulled = run_mirror(a, b, MirrorOptions(verify=True))
        pulled_again = run_mirror(a, b, MirrorOptions())
    assert pulled.exit_code == 1 and pulled.files.copied == 6
    assert same_content(src, back)
    assert pulled_again.exit_code == 0


def test_it_refuses_an_sftp_server_with_another_host_key(tmp_path, sshd, sftp_url):
    other = paramiko.Ed25519Key.from_private_key_file(str(sshd.client_key_path))  # not the host's
    with pytest.raises(paramiko.SSHException, match="clé d'hôte inattendue"):
        open_endpoint(sftp_url(str(tmp_path)), pkey=sshd.client_key, host_key=other)
    with pytest.raises(ValueError, match="épinglée"):
        open_endpoint(sftp_url(str(tmp_path)), pkey=sshd.client_key)
    fingerprint = sshd.host_key_fingerprint()
    with open_endpoint(sftp_url(str(tmp_path)), pkey=sshd.client_key, host_key=fingerprint) as e:
        assert e.exists()


def smb(samba, path):
    return open_endpoint(samba.url(path), username=samba.username, password=samba.password)


def test_it_mirrors_to_and_from_smb(tmp_path, samba):
    src = julie_tree(tmp_path / "src")
    make_tree(samba.share_path / "cabinet", {"Datas": {"extra.old": b"x", "olddir": {"y": b"y"}}})
    with open_endpoint(str(src)) as a, smb(samba, "cabinet") as b:
        pushed = run_mirror(a, b, MirrorOptions(verify=True, retry_wait=0.01))
        again = run_mirror(a, b, MirrorOptions(verify_all=True))
    assert pushed.exit_code == 3, pushed.failures
    assert (pushed.files.copied, pushed.files.extras, pushed.dirs.extras) == (6, 2, 1)
    assert same_content(src, samba.share_path / "cabinet", resolution_ns=1000)
    assert again.exit_code == 0 and again.files.skipped == 6

    back = tmp_path / "back"
    with smb(samba, "cabinet") as a, open_endpoint(str(back)) as b:
        pulled = run_mirror(a, b, MirrorOptions(verify_all=True))
        pulled_again = run_mirror(a, b, MirrorOptions())
    assert pulled.exit_code == 1 and pulled.files.copied == 6, pulled.failures
    assert same_content(src, back, resolution_ns=1000)
    assert pulled_again.exit_code == 0


def test_it_refuses_an_smb_drive_root_and_a_foreign_share_folder(tmp_path, samba):
    src = make_tree(tmp_path / "src", {"Datas": {"a": b"a"}})
    make_tree(samba.share_path / "perso", {"photos": {"p.jpg": b"p"}})
    with open_endpoint(str(src)) as a, smb(samba, "perso") as b:
        refused = run_mirror(a, b, MirrorOptions())
    assert refused.exit_code == 16 and "Datas" in refused.fatal
    assert (samba.share_path / "perso" / "photos" / "p.jpg").exists()
    drive_url = f"smb://{samba.host}:{samba.port}/D$"
    with (
        open_endpoint(str(src)) as a,
        open_endpoint(drive_url, username=samba.username, password=samba.password) as b,
    ):
        refused = run_mirror(a, b, MirrorOptions())
    assert refused.exit_code == 16 and "racine" in refused.fatal


def test_large_files_go_both_ways_over_smb_with_several_requests_in_flight(tmp_path, samba):
    """Files of several MiB (not a multiple of the 1 MiB request) pushed and pulled with
    PIPELINE requests outstanding: bytes equal, the temp name gone, progress counted once."""
    from julieops.mirror.endpoints import smb as smb_module
    from julieops.mirror.endpoints.base import is_temp_name

    sizes = {"big.dat": 5 * 2**20 + 12345, "exact.dat": 3 * 2**20, "one.dat": 1, "vide.dat": 0}
    src = make_tree(tmp_path / "src", {"Datas": {n: os.urandom(s) for n, s in sizes.items()}})
    from julieops.mirror.endpoints.smb2wire import Channel

    sent = []
    real_send = smb_module._Pipe.send
    real_take = Channel.take

    def counting_send(self, message, receive, extra):
        sent.append(len(self.pending))
        return real_send(self, message, receive, extra)

    def counting_take(self, mid):  # the lean channel: others outstanding when one is taken
        sent.append(len(self.outstanding) - 1)
        return real_take(self, mid)

    smb_module._Pipe.send = counting_send
    Channel.take = counting_take
    try:
        with open_endpoint(str(src)) as a, smb(samba, "gros") as b:
            pushed = run_mirror(a, b, MirrorOptions(verify=True))
        back = tmp_path / "back"
        with smb(samba, "gros") as a, open_endpoint(str(back)) as b:
            pulled = run_mirror(a, b, MirrorOptions(verify=True))
    finally:
        smb_module._Pipe.send = real_send
        Channel.take = real_take
    assert pushed.exit_code == 1 and pushed.files.copied == 4, pushed.failures
    assert pulled.exit_code == 1 and pulled.files.copied == 4, pulled.failures
    assert pushed.bytes.copied == pulled.bytes.copied == sum(sizes.values())
    assert same_content(src, samba.share_path / "gros", resolution_ns=1000)
    assert same_content(src, back, resolution_ns=1000)
    assert max(sent) >= 1  # a request was sent while another was still outstanding
    assert not [p for p in (samba.share_path / "gros").rglob("*") if is_temp_name(p.name)]


def test_small_files_are_read_over_smb_with_one_compound_and_a_changed_file_in_full(
    tmp_path, samba
):
    """Files up to 1 MiB: CREATE + READ + CLOSE in one compound; a file whose size is not the
    listed one is read the ordinary way, whole; a missing file is an OSError (ENOENT)."""
    from julieops.mirror.endpoints import smblist

    sizes = [0, 1, 1000, 2**20 - 1, 2**20, 2**20 + 1]
    src = make_tree(samba.share_path / "petits", {"Datas": {f"f{s}": os.urandom(s) for s in sizes}})
    used = []
    # Either lister does it: the lean channel's (smb2wire), or smbprotocol's when encrypted.
    classes = (smblist.SmbLister, smblist.WireLister)
    real = {cls: cls.read_small for cls in classes}

    def spy(self, rel, size):
        used.append(rel)
        return real[type(self)](self, rel, size)

    for cls in classes:
        cls.read_small = spy
    try:
        back = tmp_path / "back"
        with smb(samba, "petits") as a, open_endpoint(str(back)) as b:
            pulled = run_mirror(a, b, MirrorOptions(verify=True))
            stale = b"".join(a.read_chunks("Datas/f1000", 10))  # listed at 10 bytes
            with pytest.raises(OSError) as missing:
                b"".join(a.read_chunks("Datas/absent", 10))
    finally:
        for cls in classes:
            cls.read_small = real[cls]
    assert pulled.exit_code == 1 and pulled.files.copied == len(sizes), pulled.failures
    assert same_content(src, back, resolution_ns=1000)
    assert {f"Datas/f{s}" for s in sizes[:-1]} <= set(used)
    assert f"Datas/f{2**20 + 1}" not in used  # larger: the pipelined reads
    assert stale == (src / "Datas" / "f1000").read_bytes()
    assert missing.value.errno == errno.ENOENT


def test_small_files_are_written_over_smb_with_one_compound_then_renamed(tmp_path, samba):
    """Up to 1 MiB: CREATE (a new temporary name) + WRITE + SET_INFO (times) + FLUSH + CLOSE,
    then the rename; bytes and times equal, no temporary left; an existing name is refused."""
    from julieops.mirror.endpoints import smblist
    from julieops.mirror.endpoints.base import is_temp_name

    sizes = [0, 1, 70_000, 2**20, 2**20 + 1]
    src = make_tree(tmp_path / "src", {"Datas": {f"f{s}": os.urandom(s) for s in sizes}})
    for i, s in enumerate(sizes):
        os.utime(src / "Datas" / f"f{s}", ns=(1_500_000_000_123_456_700 + i * 10**9,) * 2)
    used = []
    # Either lister does it: the lean channel's (smb2wire), or smbprotocol's when encrypted.
    classes = (smblist.SmbLister, smblist.WireLister)
    real = {cls: cls.write_new for cls in classes}

    def spy(self, rel, data, mtime_ns):
        used.append(len(data))
        return real[type(self)](self, rel, data, mtime_ns)

    for cls in classes:
        cls.write_new = spy
    try:
        with open_endpoint(str(src)) as a, smb(samba, "envoi") as b:
            pushed = run_mirror(a, b, MirrorOptions(verify=True))
            with pytest.raises(OSError) as exists:
                b.lister().write_new("Datas/f1", b"x", 0)
    finally:
        for cls in classes:
            cls.write_new = real[cls]
    assert pushed.exit_code == 1 and pushed.files.copied == len(sizes), pushed.failures
    assert same_content(src, samba.share_path / "envoi", resolution_ns=100)
    assert set(sizes[:-1]) <= set(used)  # (and the marker, and the refused write)
    assert 2**20 + 1 not in used  # the larger one: the pipelined writes
    assert not [p for p in (samba.share_path / "envoi").rglob("*") if is_temp_name(p.name)]
    assert exists.value.errno == errno.EEXIST
    assert (samba.share_path / "envoi" / "Datas" / "f1").read_bytes() == (
        src / "Datas" / "f1"
    ).read_bytes()
