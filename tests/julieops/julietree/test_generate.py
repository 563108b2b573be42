import sqlite3
import time
import zipfile
from pathlib import Path

import pytest

from julieops.julietree.generate import (
    build_demo_practice,
    generate_julie_tree,
    generate_sms_host,
    patient_names,
)
from tests.julieops.julietree.conftest import NOW, tree_fingerprint

DAY = 86400


def _count(path: Path, table: str) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
    finally:
        conn.close()


def test_it_generates_the_same_tree_from_the_same_options(tmp_path, opts):
    generate_julie_tree(tmp_path / "a", opts)
    generate_julie_tree(tmp_path / "b", opts)
    assert tree_fingerprint(tmp_path / "a") == tree_fingerprint(tmp_path / "b")
    generate_julie_tree(tmp_path / "c", opts, seed=opts.seed + 1)
    assert tree_fingerprint(tmp_path / "a") != tree_fingerprint(tmp_path / "c")


def test_it_sizes_the_tree_from_its_parameters(tmp_path, opts):
    small = generate_julie_tree(tmp_path / "s", opts)
    big = generate_julie_tree(tmp_path / "b", opts, patients=9, image_bytes=5000)
    assert len(small["patients"]) == 4 and len(big["patients"]) == 9
    radios = list((tmp_path / "b/Juliew/XRAY").rglob("*.jpg"))
    assert len(radios) == 9 * 2
    assert {p.stat().st_size for p in radios} == {5000}
    assert all(p.read_bytes()[:3] == b"\xff\xd8\xff" for p in radios)
    patient_dat = lambda root: (root / "Juliew/Datas/PATIENT.DAT").stat().st_size  # noqa: E731
    assert patient_dat(tmp_path / "b") > patient_dat(tmp_path / "s")


def test_it_names_patient_folders_with_accents_and_spaces(tmp_path, opts):
    summary = generate_julie_tree(tmp_path / "C", opts, patients=20)
    names = summary["patients"]
    assert len(set(names)) == 20
    assert any(not n.isascii() for n in names) and all(" " in n for n in names)
    for name in names:
        assert (tmp_path / "C/Juliew/XRAY" / name).is_dir()
        assert (tmp_path / "C/Juliew/DOCPATIENT" / name).is_dir()
    assert patient_names(opts.seed, 20) == names


def test_it_writes_real_sqlite_databases_and_zips_of_the_services_folder(tmp_path, opts):
    summary = generate_julie_tree(tmp_path / "C", opts)
    datas = summary["services_data"]
    assert datas == tmp_path / "C/ProgramData/Julie Software/datas"
    assert {p.name for p in datas.iterdir()} == {
        "smartcontact.db", "messenger.db", "Sms.db", "JulieRdv.db", "MyJulie.db",
        "ListDynamikActuLocal.json",
    }  # fmt: skip
    assert _count(datas / "Sms.db", "reminders") >= 4 * 8
    assert len(summary["zips"]) == opts.zips
    with zipfile.ZipFile(summary["zips"][0]) as archive:
        assert archive.testzip() is None
        names = {n.rsplit("/", 1)[-1] for n in archive.namelist()}
        assert names == {p.name for p in datas.iterdir()}
        assert archive.read("datas/Sms.db") == (datas / "Sms.db").read_bytes()
    register = (tmp_path / "C/Juliew/Datas/server.register").read_bytes()
    assert (
        register.count(b"\r\n") == 3 and b"JULIEONLINESERVICE\tnet.tcp://serveur:9001" in register
    )


def test_it_spreads_mtimes_over_months_with_recent_pxdatas(tmp_path, opts):
    summary = generate_julie_tree(tmp_path / "C", opts, patients=10)
    images = [p.stat().st_mtime for p in (tmp_path / "C/Juliew/XRAY").rglob("*.jpg")]
    assert max(images) - min(images) > 60 * DAY
    assert all(m < NOW for m in images)
    pending = [(tmp_path / "C" / rel).stat().st_mtime for rel in summary["pending_fse"]]
    assert pending and all(NOW - 4 * DAY < m < NOW for m in pending)
    # A patient's file name carries the date of its mtime.
    radio = next((tmp_path / "C/Juliew/XRAY").rglob("*.jpg"))
    assert time.strftime("%Y-%m-%d", time.localtime(radio.stat().st_mtime)) in radio.name


def test_it_injects_a_stale_sms_db_older_and_shorter_than_its_zipped_copy(tmp_path, opts):
    summary = generate_julie_tree(tmp_path / "C", opts, sms_db_stale=True)
    live = summary["services_data"] / "Sms.db"
    with zipfile.ZipFile(summary["zips"][0]) as archive:
        zipped_time = time.mktime(archive.getinfo("datas/Sms.db").date_time + (0, 0, -1))
        (tmp_path / "zipped.db").write_bytes(archive.read("datas/Sms.db"))
    assert live.stat().st_mtime < zipped_time - 30 * DAY
    assert _count(live, "reminders") < _count(tmp_path / "zipped.db", "reminders")


def test_it_puts_sms_on_a_secondary_post_when_asked(tmp_path, opts):
    server = generate_julie_tree(tmp_path / "srv", opts, sms_host="POSTE-SMS")
    post = generate_sms_host(tmp_path / "sms", opts, sms_host="POSTE-SMS")
    assert not (server["services_data"] / "Sms.db").exists()
    assert (post["services_data"] / "Sms.db").is_file()
    assert (
        b"net.tcp://poste-sms:9001" in (tmp_path / "srv/Juliew/Datas/server.register").read_bytes()
    )
    with zipfile.ZipFile(server["zips"][0]) as archive:
        assert archive.read("datas/Sms.db") == (post["services_data"] / "Sms.db").read_bytes()


def test_it_generates_a_backup_holding_already_sent_fse(tmp_path, opts):
    live = generate_julie_tree(tmp_path / "live", opts)
    backup = generate_julie_tree(tmp_path / "bak", opts, backup=True)
    assert len(backup["sent_fse"]) == opts.sent_fse
    for rel in backup["sent_fse"]:
        assert (tmp_path / "bak" / rel).is_file() and not (tmp_path / "live" / rel).exists()
    for rel in live["pending_fse"]:
        assert (tmp_path / "bak" / rel).read_bytes() == (tmp_path / "live" / rel).read_bytes()
    assert not (tmp_path / "bak/ProgramData").exists()


def test_it_builds_the_demo_practice(tmp_path):
    paths = build_demo_practice(tmp_path, patients=3, image_bytes=1000)
    assert set(paths) == {"ancien-serveur", "nouveau-serveur", "poste-accueil"}
    assert (paths["ancien-serveur"] / "partage/Juliew/Datas/server.register").is_file()
    assert (paths["nouveau-serveur"] / "Windows").is_dir()
    assert not list(paths["nouveau-serveur"].rglob("Juliew"))
    assert (paths["poste-accueil"] / "Juliew/Julie.exe").is_file()
    assert not (paths["poste-accueil"] / "Juliew/Datas").exists()
    with pytest.raises(FileExistsError):
        build_demo_practice(tmp_path, patients=3, image_bytes=1000)
    again = build_demo_practice(tmp_path, patients=3, image_bytes=1000, replace_existing=True)
    assert again == paths
