"""The lean SMB2 channel (smb2wire) and the lister on it, against the real Samba fixture."""

import errno
import os
import shutil
import socket
import stat
import struct
import subprocess
import threading
import unicodedata

import pytest
from smbprotocol.connection import Dialects, SigningAlgorithms

from julieops.mirror import MirrorOptions, open_endpoint, run_mirror
from julieops.mirror.endpoints import smblist
from julieops.mirror.endpoints.smb import SmbEndpoint
from julieops.mirror.endpoints.smb2wire import Channel, ChannelBroken
from julieops.mirror.entry import DIR, FILE
from tests.julieops.mirror.trees import make_tree

LONG_NAME = "compte_rendu_" + "é" * 40 + "_" + "x" * 150 + ".pdf"  # 208 chars, 248 bytes


def smb(samba, path):
    return open_endpoint(samba.url(path), username=samba.username, password=samba.password)


def channel_factory(samba, port=None, **kw):
    def open_channel():
        return Channel(
            samba.host,
            port or samba.port,
            samba.share,
            username=samba.username,
            password=samba.password,
            **kw,
        )

    return open_channel


def wire_lister(samba, base, **kw):
    return smblist.WireLister(
        channel_factory(samba, **kw), base, rf"\\{samba.host}\{samba.share}\{base}"
    )


def os_listing(root):
    """{rel folder: sorted (name, kind, size, mtime in 100 ns)} as os.walk sees it."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel = "" if rel == "." else rel
        rows = []
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            is_dir = stat.S_ISDIR(st.st_mode)
            rows.append(
                (
                    name,
                    DIR if is_dir else FILE,
                    0 if is_dir else st.st_size,
                    st.st_mtime_ns // 100,
                )
            )
        out[rel] = sorted(rows)
    return out


def smb_listing(listings):
    return {
        rel: sorted((n, k, s, m // 100) for n, k, s, m, _ro, _ in records)
        for rel, records in listings.items()
    }


def varied_tree(root):
    nfc = unicodedata.normalize("NFC", "Hélène Müller")
    tree = make_tree(
        root,
        {
            "Datas": {
                "PATIENT.DAT": os.urandom(5000),
                "vide.dat": b"",
                nfc + ".txt": b"nfc",
                unicodedata.normalize("NFD", nfc) + ".txt": b"nfd",
                "Ω≈ç√∫ 日本語 🦷.dat": b"emoji",
                LONG_NAME: b"long",
                "Images": {},
                "vide": {"encore_vide": {}},
            },
            # 2,000 names of ~70 characters: ~350 KiB of records, more than one answer buffer
            "gros": {f"radio_{i:05d}_" + "r" * 56 + ".jpg": b"" for i in range(2000)},
        },
    )
    deep = tree / "Datas" / "/".join(f"niveau_{i}_" + "y" * 45 for i in range(5))
    deep.mkdir(parents=True)
    (deep / "bout.txt").write_bytes(b"fin")
    os.utime(deep / "bout.txt", ns=(1_600_000_000_123_456_700,) * 2)
    (tree / "Datas" / "ro.dat").write_bytes(b"ro")
    return tree


def set_dos_readonly(samba, tmp_path, path):
    """Samba keeps the DOS read-only attribute apart from the mode bits (root may write
    anything): set it the way a Windows client does, over SMB (the C client's setmode)."""
    auth = tmp_path / "auth"
    auth.write_text(f"username = {samba.username}\npassword = {samba.password}\n")
    client = ["smbclient", f"//{samba.host}/{samba.share}", "-p", str(samba.port), "-A", str(auth)]
    subprocess.run([*client, "-c", f'setmode "{path}" +r'], check=True, capture_output=True)


def test_the_lean_walk_lists_what_os_walk_sees_on_the_share(tmp_path, samba, monkeypatch):
    root = varied_tree(samba.share_path / "varie")
    set_dos_readonly(samba, tmp_path, "varie/Datas/ro.dat")
    # Small loop answers: the big folder takes several QUERY_DIRECTORY answers after its
    # compound's 64 KiB came back full.
    monkeypatch.setattr(smblist, "LOOP_OUTPUT", 64 * 1024)
    loops = []
    real_loop = smblist.WireLister._list_loop

    def counting_loop(self, ch, rel):
        loops.append(rel)
        return real_loop(self, ch, rel)

    monkeypatch.setattr(smblist.WireLister, "_list_loop", counting_loop)
    with smb(samba, "varie") as ep:
        listings, errors = ep.tree_walker().here([])
        assert ep.listing_method == "lean"
        alone = {rel: sorted(tuple(e)[:5] for e in ep.list_dir(rel)) for rel in ("", "Datas")}
    assert errors == {}
    assert smb_listing(listings) == os_listing(root)
    assert loops == ["gros"] and len(listings["gros"]) == 2000
    ro = [r for r in listings["Datas"] if r[0] == "ro.dat"]
    assert ro[0][4] is True and all(not r[4] for r in listings["Datas"] if r[0] != "ro.dat")
    assert alone["Datas"] == sorted(tuple(r)[:5] for r in listings["Datas"])
    assert alone[""] == sorted(tuple(r)[:5] for r in listings[""])


@pytest.mark.parametrize(
    ("dialect", "algorithms", "expected"),
    [
        (Dialects.SMB_2_1_0, None, SigningAlgorithms.HMAC_SHA256),
        (Dialects.SMB_3_0_2, None, SigningAlgorithms.AES_CMAC),
        (Dialects.SMB_3_1_1, [SigningAlgorithms.AES_CMAC], SigningAlgorithms.AES_CMAC),
        (Dialects.SMB_3_1_1, None, SigningAlgorithms.AES_GMAC),
    ],
)
def test_every_signing_algorithm_signs_and_verifies(samba, dialect, algorithms, expected):
    root = make_tree(samba.share_path / "signe", {"a": {"b.txt": b"b", "c": {}}, "d.dat": b"dd"})
    lister = wire_lister(samba, "signe", dialect=dialect, signing_algorithms=algorithms)
    try:
        (ch,) = lister._free
        assert (ch.dialect, ch.signing_algorithm) == (dialect, expected)
        listings, errors = lister.walk()
        data = bytes(lister.read_small("d.dat", 2))
    finally:
        lister.close()
    assert errors == {} and smb_listing(listings) == os_listing(root)
    assert data == b"dd"


def test_a_folder_deleted_while_the_tree_is_listed_is_an_error_the_rest_listed(samba):
    root = make_tree(
        samba.share_path / "efface",
        {"garde": {"a.txt": b"a"}, "parti": {"p.txt": b"p", "sous": {}}, "z.txt": b"z"},
    )
    lister = wire_lister(samba, "efface")
    real_send = lister._send_folder

    def delete_then_send(ch, rel):
        if rel == "parti":  # listed by its parent, gone before it is opened
            shutil.rmtree(root / "parti")
        return real_send(ch, rel)

    lister._send_folder = delete_then_send
    try:
        listings, errors = lister.walk()
    finally:
        lister.close()
    assert set(listings) == {"", "garde"} and set(errors) == {"parti"}
    assert errors["parti"][0] == errno.ENOENT and errors["parti"][2].endswith(r"efface\parti")
    assert [r[0] for r in listings["garde"]] == ["a.txt"]


class TamperingProxy:
    """A TCP relay between the client and Samba that, once armed, alters the answers: flips
    the last byte of the next frame, or clears the signed flag of its first PDU."""

    def __init__(self, samba, how):
        self.target = (samba.host, samba.port)
        self.how = how
        self.armed = threading.Event()
        self.tampered = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._answers, args=(server, client), daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            b.close()

    @staticmethod
    def _exact(sock, n):
        buf = b""
        while len(buf) < n:
            part = sock.recv(n - len(buf))
            if not part:
                raise OSError("closed")
            buf += part
        return buf

    def _answers(self, server, client):
        try:
            while True:
                head = self._exact(server, 4)
                frame = bytearray(self._exact(server, struct.unpack(">I", head)[0]))
                if self.armed.is_set() and not self.tampered.is_set():
                    if self.how == "flip":
                        frame[-1] ^= 0x01
                    else:
                        flags = struct.unpack_from("<I", frame, 16)[0]
                        struct.pack_into("<I", frame, 16, flags & ~0x8)
                    self.tampered.set()
                client.sendall(head + frame)
        except OSError:
            pass
        finally:
            client.close()

    def close(self):
        self.listener.close()


@pytest.mark.parametrize("how", ["flip", "unsigned"])
def test_an_answer_altered_on_the_way_or_unsigned_is_refused(samba, how):
    make_tree(samba.share_path / "altere", {"a": {"b.txt": b"b"}, "c.txt": b"c"})
    proxy = TamperingProxy(samba, how)
    lister = wire_lister(samba, "altere", port=proxy.port)
    try:
        listings, errors = lister.walk()  # untouched: listed through the relay
        assert errors == {} and set(listings) == {"", "a"}
        proxy.armed.set()
        with pytest.raises(ChannelBroken, match="signature"):
            lister.walk()
        assert proxy.tampered.is_set()
        (ch,) = lister._all
        assert ch.broken is not None and lister._free == []  # never used again
    finally:
        lister.close()
        proxy.close()


def test_large_reads_keep_several_requests_in_flight_and_hand_views_out(tmp_path, samba):
    from julieops.mirror.endpoints.smb import LEAN_DEPTH, LEAN_READ

    sizes = {"big.dat": 3 * LEAN_READ + 12345, "exact.dat": 2 * LEAN_READ, "petit.dat": 1000}
    src = make_tree(samba.share_path / "lecture", {n: os.urandom(s) for n, s in sizes.items()})
    outstanding = []
    real_take = Channel.take

    def spy(self, mid):
        outstanding.append(len(self.outstanding))
        return real_take(self, mid)

    Channel.take = spy
    try:
        with smb(samba, "lecture") as ep:
            chunks = list(ep.read_chunks("big.dat", sizes["big.dat"]))
            assert ep.listing_method == "lean"
            small = list(ep.read_chunks("petit.dat", 1000))
            with pytest.raises(OSError) as missing:
                list(ep.read_chunks("absent.dat", 2 * 2**20))
            back = tmp_path / "back"
            with open_endpoint(str(back)) as b:
                pulled = run_mirror(ep, b, MirrorOptions(verify=True))
    finally:
        Channel.take = real_take
    assert b"".join(chunks) == (src / "big.dat").read_bytes()
    assert all(isinstance(c, memoryview) for c in chunks) and len(chunks) == 4
    assert b"".join(small) == (src / "petit.dat").read_bytes()
    assert max(outstanding) >= LEAN_DEPTH >= 2  # READs outstanding while one was taken
    assert missing.value.errno == errno.ENOENT
    assert pulled.exit_code == 1 and pulled.files.copied == 3, pulled.failures
    for name in sizes:
        assert (back / name).read_bytes() == (src / name).read_bytes()


def test_an_encrypted_session_keeps_smbprotocols_path(tmp_path, samba):
    src = make_tree(samba.share_path / "chiffre", {"a": {"b.txt": b"b" * 3000}, "c.txt": b"c"})
    ep = SmbEndpoint(
        samba.url("chiffre"),
        samba.host,
        samba.port,
        samba.share,
        "chiffre",
        username=samba.username,
        password=samba.password,
        encrypt=True,
    )
    with ep, open_endpoint(str(tmp_path / "back")) as b:
        listings, errors = ep.tree_walker().here([])
        assert ep.listing_method == "smbprotocol"
        pulled = run_mirror(ep, b, MirrorOptions(verify=True))
    assert errors == {} and smb_listing(listings) == os_listing(src)
    assert pulled.exit_code == 1 and pulled.files.copied == 2, pulled.failures


def test_lean_writes_land_whole_under_their_name_or_not_at_all(tmp_path, samba):
    from julieops.mirror.endpoints.base import is_temp_name
    from julieops.mirror.entry import Entry

    sizes = {"petit.dat": 70_000, "gros.dat": 3 * 2**20 + 77, "vide.dat": 0}
    src = make_tree(tmp_path / "src", {"Datas": {n: os.urandom(s) for n, s in sizes.items()}})
    for i, name in enumerate(sizes):
        os.utime(src / "Datas" / name, ns=(1_500_000_000_123_456_700 + i * 10**9,) * 2)
    remote = samba.share_path / "envoi_lean"
    with open_endpoint(str(src)) as a, smb(samba, "envoi_lean") as b:
        pushed = run_mirror(a, b, MirrorOptions(verify=True))
        assert b.listing_method == "lean"
        with pytest.raises(OSError) as exists:  # FILE_CREATE: never over an existing name
            b.wire().write_new("Datas/petit.dat", b"x", 0)
        good = (remote / "Datas" / "gros.dat").read_bytes()

        def failing_chunks():
            yield os.urandom(2**20)
            yield os.urandom(2**20)
            raise OSError(errno.EIO, "source lost mid-file")

        entry = Entry("gros.dat", FILE, 4 * 2**20, 1_600_000_000_000_000_000, False, 0)
        with pytest.raises(OSError, match="mid-file"):
            b.store("Datas/gros.dat", failing_chunks(), entry)
    assert pushed.exit_code == 1 and pushed.files.copied == 3, pushed.failures
    for i, name in enumerate(sizes):
        path = remote / "Datas" / name
        assert path.read_bytes() == (src / "Datas" / name).read_bytes()
        assert path.stat().st_mtime_ns == 1_500_000_000_123_456_700 + i * 10**9
    assert exists.value.errno == errno.EEXIST
    assert (remote / "Datas" / "gros.dat").read_bytes() == good  # the good copy untouched
    assert not [p for p in remote.rglob("*") if is_temp_name(p.name)]


def test_lean_removals_and_existence_as_the_engine_needs_them(samba):
    root = make_tree(samba.share_path / "retrait", {"plein": {"f.txt": b"f"}, "seul.txt": b"s"})
    (root / "vide").mkdir()
    with smb(samba, "retrait") as ep, smb(samba, "retrait/absent") as missing:
        assert ep.listing_method == "lean" and ep.exists() and not missing.exists()
        with pytest.raises(OSError) as not_empty:
            ep.remove_dir("plein")  # refused, not left silently
        ep.remove_file("seul.txt")
        ep.remove_dir("vide")
        with pytest.raises(OSError) as gone:
            ep.remove_file("seul.txt")
    assert not_empty.value.errno == errno.ENOTEMPTY and (root / "plein" / "f.txt").exists()
    assert gone.value.errno == errno.ENOENT
    assert sorted(p.name for p in root.iterdir()) == ["plein"]


def test_a_wrong_password_fails_the_opening(samba):
    from smbprotocol.exceptions import LogonFailure

    with pytest.raises(LogonFailure):  # as smbprotocol raised it before the lean channel
        open_endpoint(samba.url("retrait"), username=samba.username, password="faux")


def test_the_switch_off_keeps_smbprotocols_path_both_ways(tmp_path, samba, monkeypatch):
    monkeypatch.setenv("JULIEOPS_SMB_LEAN", "0")
    src = make_tree(tmp_path / "src", {"Datas": {"a.dat": os.urandom(3 * 2**20), "b": {}}})
    with open_endpoint(str(src)) as a, smb(samba, "sans_lean") as b:
        pushed = run_mirror(a, b, MirrorOptions(verify=True))
        assert b.listing_method == "smbprotocol" and b._wire is False
    with smb(samba, "sans_lean") as a, open_endpoint(str(tmp_path / "back")) as b:
        pulled = run_mirror(a, b, MirrorOptions(verify=True))
    assert pushed.exit_code == pulled.exit_code == 1 and pulled.files.copied == 1
    assert (tmp_path / "back" / "Datas" / "a.dat").read_bytes() == (
        src / "Datas" / "a.dat"
    ).read_bytes()
