"""Whole-tree listings of remote endpoints: the same records as the folder-by-folder listing."""

import os
import struct

import pytest

from julieops.mirror import MirrorOptions, open_endpoint, run_mirror
from julieops.mirror.endpoints.sftplist import RemoteListingUnavailable, parse_find
from julieops.mirror.endpoints.smblist import parse_directory_information
from julieops.mirror.entry import DIR, FILE, LINK
from tests.julieops.mirror.trees import make_tree


def record(name, attrs, size, mtime_filetime, last=False):
    encoded = name.encode("utf-16-le")
    body = struct.pack("<I20xQ8xQ8xII", 0, mtime_filetime, size, attrs, len(encoded)) + encoded
    body += b"\0" * (-len(body) % 8)
    if not last:
        body = struct.pack("<I", len(body)) + body[4:]
    return body


def test_it_reads_directory_records_from_the_buffer():
    ft = 116_444_736_000_000_000 + 1_700_000_000 * 10_000_000 + 1234567
    buf = (
        record(".", 0x10, 0, ft)
        + record("..", 0x10, 0, ft)
        + record("Hélène.dat", 0x21, 4321, ft)
        + record("Images", 0x10, 4096, ft)
        + record("lien", 0x410, 0, ft, last=True)
    )
    out = []
    parse_directory_information(buf, out)
    mtime_ns = 1_700_000_000 * 10**9 + 123456700
    assert out == [
        ("Hélène.dat", FILE, 4321, mtime_ns, True, 0),
        ("Images", DIR, 0, mtime_ns, False, 0),
        ("lien", LINK, 0, mtime_ns, False, 0),
    ]


def test_it_parses_find_records_and_leaves_excluded_folders_out():
    data = (
        b"d 4096 1700000000.5 755 Datas\0"
        b"f 12 1700000001.9 444 Datas/a b.dat\0"
        b"d 4096 1700000000.0 755 Datas/tmp\0"
        b"f 1 1700000000.0 644 Datas/tmp/x\0"
        b"l 7 1700000000.0 777 lien\0"
    )
    listings = parse_find(data, ["tmp"])
    assert listings == {
        "": [
            ("Datas", DIR, 0, 1_700_000_000 * 10**9, False, 0o755),
            ("lien", LINK, 0, 1_700_000_000 * 10**9, False, 0o777),
        ],
        "Datas": [
            ("a b.dat", FILE, 12, 1_700_000_001 * 10**9, True, 0o444),
            ("tmp", DIR, 0, 1_700_000_000 * 10**9, False, 0o755),
        ],
    }
    with pytest.raises(RemoteListingUnavailable):
        parse_find(b"f 12 1700000001 644 a", None)  # cut short
    with pytest.raises(RemoteListingUnavailable):
        parse_find(b"FIND: Parameter format not correct\0", None)


def wide_tree(root):
    spec = {
        f"d{i}": {f"s{j}": {f"f{k}.dat": b"x" * k for k in range(3)} for j in range(4)}
        for i in range(6)
    }
    spec["gros"] = {f"fichier_au_nom_assez_long_{i:05d}.dat": b"" for i in range(900)}  # > 64 KiB
    spec["vide"] = {}
    return make_tree(root, spec)


def by_folder(endpoint, listings):
    """Each listed folder's records, and the same folder listed alone."""
    return (
        {rel: sorted(tuple(r)[:5] for r in recs) for rel, recs in listings.items()},
        {rel: sorted(tuple(e)[:5] for e in endpoint.list_dir(rel)) for rel in listings},
    )


def test_smb_walk_matches_folder_listings(samba):
    wide_tree(samba.share_path / "large")
    with open_endpoint(samba.url("large"), username=samba.username, password=samba.password) as ep:
        listings, errors = ep.tree_walker().here(["s3"])
        assert not errors
        walked, alone = by_folder(ep, listings)
    assert walked == alone
    assert len(walked["gros"]) == 900 and walked["vide"] == []
    assert "d0/s3" not in walked and "d0/s2" in walked and len(walked) == 6 * 3 + 6 + 3


def test_smb_walk_records_a_missing_folder_as_an_error(samba):
    with open_endpoint(samba.url("absent"), username=samba.username, password=samba.password) as ep:
        listings, errors = ep.tree_walker().here([])
    assert listings == {} and errors[""][0] == 2  # ENOENT


@pytest.mark.parametrize("remote_listing", [True, False])
def test_sftp_walk_matches_folder_listings(tmp_path, sshd, remote_listing):
    root = wide_tree(tmp_path / "large")
    os.symlink("d0", root / "lien")
    url = f"sftp://{sshd.username}@{sshd.host}:{sshd.port}{root}"
    with open_endpoint(url, pkey=sshd.client_key, host_key=sshd.host_key) as ep:
        ep.remote_listing = remote_listing
        listings, errors = ep.tree_walker().here(["s3"])
        assert ep.listing_method == ("find" if remote_listing else "sftp")
        assert not errors
        walked, alone = by_folder(ep, listings)
    assert walked == alone
    assert "d0/s3" not in walked and len(walked["gros"]) == 900


def test_a_no_change_rerun_over_smb_and_sftp_copies_nothing(tmp_path, samba, sshd):
    src = wide_tree(tmp_path / "src")
    opts = MirrorOptions(retry_wait=0.01)
    # The caller remembers the first run (no marker is left in the tree to say so).
    rerun = MirrorOptions(retry_wait=0.01, force=True)
    url = f"sftp://{sshd.username}@{sshd.host}:{sshd.port}{tmp_path / 'remote'}"
    with (
        open_endpoint(str(src)) as a,
        open_endpoint(samba.url("rerun"), username=samba.username, password=samba.password) as b,
        open_endpoint(url, pkey=sshd.client_key, host_key=sshd.host_key) as c,
    ):
        for dest in (b, c):
            first = run_mirror(a, dest, opts)
            again = run_mirror(a, dest, rerun)
            assert first.exit_code == 1, first.failures
            assert again.exit_code == 0 and again.files.copied == 0
            assert again.files.skipped == first.files.copied == 6 * 4 * 3 + 900
    with (
        open_endpoint(samba.url("rerun"), username=samba.username, password=samba.password) as b,
        open_endpoint(str(tmp_path / "back")) as d,
    ):
        first, again = run_mirror(b, d, opts), run_mirror(b, d, rerun)
    assert first.files.copied == again.files.skipped == 6 * 4 * 3 + 900
    assert again.files.copied == 0 and again.exit_code == 0


@pytest.mark.parametrize("name", ["", "a", "patient_0001\\visite_02", "Hélène\\é"])
def test_the_hand_packed_create_is_the_one_smbprotocol_packs(name):
    from smbprotocol.open import Open

    from julieops.mirror.endpoints import smblist as m

    class Connection:
        dialect = 0x311

    class Tree:
        class session:  # noqa: N801 - stands for smbprotocol's attribute
            connection = Connection

    fd = Open(Tree, name)
    msg, _ = fd.create(
        m.ImpersonationLevel.Impersonation,
        m._ACCESS,
        m.FileAttributes.FILE_ATTRIBUTE_DIRECTORY,
        m._SHARE,
        m.CreateDisposition.FILE_OPEN,
        m.CreateOptions.FILE_DIRECTORY_FILE,
        send=False,
    )
    assert m.create_body(name) == msg.pack()
