import hashlib
import os
import sqlite3
import struct
import zipfile
from pathlib import Path

import pytest

from julieops.julietree import LocalTree, TreeReader, inspect_tree
from julieops.julietree.backups import member_mtime
from julieops.julietree.generate import generate_julie_tree, generate_sms_host
from tests.julieops.julietree.conftest import tree_fingerprint


def codes(report: dict) -> set[str]:
    return {p["code"] for p in report["problems"]}


def _walk_stats(folder: Path) -> tuple[int, int]:
    files = [Path(d) / f for d, _, fs in os.walk(folder) for f in fs]
    return len(files), sum(f.stat().st_size for f in files)


def test_it_reports_no_problem_on_a_clean_tree(tmp_path, opts):
    generate_julie_tree(tmp_path / "C", opts)
    report = inspect_tree(LocalTree(tmp_path / "C"))
    assert report["problems"] == []
    assert report["data_path"] == "Juliew/Datas"
    assert report["data_path_windows"] == "C:\\Juliew\\Datas"
    assert report["imaging_roots"] == ["Juliew"]
    assert report["name"] == "serveur" and report["sms_host"] == "serveur"
    assert report["server_register"]["services"]["JULIEONSITE"]["port"] == 8095
    assert report["extras"]["internet_par"]["present"]
    assert report["extras"]["julieprf_ini"]["present"]
    assert report["services_zips"]["sms_db_stale"] is False


def test_it_counts_each_folder_like_an_independent_walk(tmp_path, opts):
    generate_julie_tree(tmp_path / "C", opts, data_root="partage/Juliew", imaging_root="Imagerie")
    report = inspect_tree(LocalTree(tmp_path / "C"))
    assert report["julie_root"] == "partage/Juliew" and report["imaging_roots"] == ["Imagerie"]
    for name, stats in report["folders"].items():
        base = "Imagerie" if name in ("IMAGE", "XRAY", "XRAY3D") else "partage/Juliew"
        assert stats["path"] == f"{base}/{name}"
        assert (stats["files"], stats["size"]) == _walk_stats(tmp_path / "C" / base / name)
    assert report["folders"]["XRAY"]["files"] == 4 * 2


SCENARIOS = {
    "spaces": ({"data_root": "Données Cabinet/Juliew"}, {"datas_path_has_spaces"}),
    "partage": ({"data_root": "partage/Juliew"}, set()),
    "register_missing": ({"server_register": False}, {"server_register_missing"}),
    "stale": ({"sms_db_stale": True}, {"sms_db_stale"}),
    "corrupt_sms": ({"corrupt_db": "Sms.db"}, {"services_db_corrupt"}),
    "corrupt_messenger": ({"corrupt_db": "messenger.db"}, {"services_db_corrupt"}),
    "sms_elsewhere": (
        {"sms_host": "POSTE-SMS"},
        {"sms_on_secondary_host", "sms_host_not_provided"},
    ),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_it_reports_exactly_the_injected_problem(tmp_path, opts, scenario):
    overrides, expected = SCENARIOS[scenario]
    generate_julie_tree(tmp_path / "C", opts, **overrides)
    report = inspect_tree(LocalTree(tmp_path / "C"))
    assert codes(report) == expected
    for problem in report["problems"]:
        assert set(problem) == {"code", "message", "paths"}
        assert problem["message"] and problem["paths"]


def test_it_points_at_the_corrupt_database_only(tmp_path, opts):
    generate_julie_tree(tmp_path / "C", opts, corrupt_db="messenger.db")
    report = inspect_tree(LocalTree(tmp_path / "C"))
    files = {f["relpath"]: f for f in report["services_hosts"]["serveur"]["files"]}
    assert not files["messenger.db"]["ok"]
    assert all(f["ok"] for name, f in files.items() if name != "messenger.db")
    (problem,) = report["problems"]
    assert problem["paths"] == ["C:\\ProgramData\\Julie Software\\datas\\messenger.db"]


def test_it_flags_a_file_that_is_not_sqlite_at_all(tmp_path, opts):
    summary = generate_julie_tree(tmp_path / "C", opts)
    (summary["services_data"] / "JulieRdv.db").write_bytes(b"\x00" * 3000)
    report = inspect_tree(LocalTree(tmp_path / "C"))
    assert codes(report) == {"services_db_corrupt"}


def test_it_reads_the_sms_db_of_a_secondary_host(tmp_path, opts):
    generate_julie_tree(tmp_path / "srv", opts, sms_host="POSTE-SMS")
    generate_sms_host(tmp_path / "sms", opts, sms_host="POSTE-SMS")
    hosts = {"poste-sms": LocalTree(tmp_path / "sms")}  # case differs from server.register
    report = inspect_tree(LocalTree(tmp_path / "srv"), hosts=hosts)
    assert codes(report) == {"sms_on_secondary_host"}
    assert set(report["services_hosts"]) == {"serveur", "poste-sms"}
    assert report["services_zips"]["sms_db_live"]["host"] == "poste-sms"
    assert report["services_zips"]["sms_db_stale"] is False

    generate_sms_host(tmp_path / "old", opts, sms_host="POSTE-SMS", sms_db_stale=True)
    report = inspect_tree(
        LocalTree(tmp_path / "srv"), hosts={"POSTE-SMS": LocalTree(tmp_path / "old")}
    )
    assert codes(report) == {"sms_on_secondary_host", "sms_db_stale"}
    stale = next(p for p in report["problems"] if p["code"] == "sms_db_stale")
    assert stale["paths"][0] == "\\\\POSTE-SMS\\C$\\ProgramData\\Julie Software\\datas\\Sms.db"


def test_it_treats_a_missing_live_sms_db_as_stale(tmp_path, opts):
    summary = generate_julie_tree(tmp_path / "C", opts)
    (summary["services_data"] / "Sms.db").unlink()
    report = inspect_tree(LocalTree(tmp_path / "C"))
    assert codes(report) == {"sms_db_stale"}
    assert report["services_hosts"]["serveur"]["missing"] == ["Sms.db"]


def test_it_uses_the_given_name_for_the_root(tmp_path, opts):
    generate_julie_tree(tmp_path / "C", opts)
    report = inspect_tree(LocalTree(tmp_path / "C"), name="AUTRE-POSTE")
    assert codes(report) == {
        "sms_on_secondary_host",
        "sms_host_not_provided",
        "services_host_not_provided",
    }


def test_it_lists_already_sent_fse_and_files_gone_from_the_live_source(tmp_path, opts):
    generate_julie_tree(tmp_path / "live", opts)
    backup = generate_julie_tree(tmp_path / "bak", opts, backup=True)
    report = inspect_tree(LocalTree(tmp_path / "live"), backup=LocalTree(tmp_path / "bak"))
    assert codes(report) == {"pxdatas_already_sent"}
    b = report["backup"]
    prefix = "Juliew/Datas/pxdatas/"
    assert sorted(prefix + e["path"] for e in b["pxdatas_already_sent"]) == sorted(
        backup["sent_fse"]
    )
    assert b["pxdatas_changed"] == [] and b["pxdatas_new_since_backup"] == []
    assert sorted(e["path"] for e in b["missing_from_live"]) == sorted(
        rel.removeprefix("Juliew/") for rel in backup["deleted_documents"]
    )
    # A mirror backup (taken after the ARLs) gives no problem.
    clean = inspect_tree(LocalTree(tmp_path / "live"), backup=LocalTree(tmp_path / "live"))
    assert codes(clean) == set()


def test_it_builds_a_pxdatas_manifest_matching_the_files(tmp_path, opts):
    summary = generate_julie_tree(tmp_path / "C", opts, pending_fse=9)
    report = inspect_tree(LocalTree(tmp_path / "C"))
    px = tmp_path / "C/Juliew/Datas/pxdatas"
    expected = sorted(
        (p.relative_to(px).as_posix(), p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in px.rglob("*")
        if p.is_file()
    )
    got = [(e["path"], e["size"], e["sha256"]) for e in report["pxdatas"]["manifest"]]
    assert got == expected and len(got) == len(summary["pending_fse"]) == 9
    assert report["pxdatas"]["bytes"] == sum(size for _, size, _ in expected)


def test_it_reports_hash_and_row_counts_of_each_services_database(tmp_path, opts):
    summary = generate_julie_tree(tmp_path / "C", opts)
    report = inspect_tree(LocalTree(tmp_path / "C"))
    files = {f["relpath"]: f for f in report["services_hosts"]["serveur"]["files"]}
    for name, info in files.items():
        path = summary["services_data"] / name
        assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert info["size"] == path.stat().st_size
    conn = sqlite3.connect(f"file:{summary['services_data'] / 'Sms.db'}?mode=ro", uri=True)
    reminders = conn.execute("SELECT count(*) FROM reminders").fetchone()[0]
    conn.close()
    assert files["Sms.db"]["tables"] == {"reminders": reminders, "settings": 3}
    assert files["Sms.db"]["integrity"] == "ok"
    assert files["ListDynamikActuLocal.json"]["kind"] == "json"


def test_it_never_writes_to_the_trees_it_reads(tmp_path, opts):
    generate_julie_tree(tmp_path / "srv", opts, sms_host="POSTE-SMS", corrupt_db="messenger.db")
    generate_sms_host(tmp_path / "sms", opts, sms_host="POSTE-SMS", sms_db_stale=True)
    generate_julie_tree(tmp_path / "bak", opts, backup=True)
    before = {name: tree_fingerprint(tmp_path / name) for name in ("srv", "sms", "bak")}
    report = inspect_tree(
        LocalTree(tmp_path / "srv"),
        hosts={"POSTE-SMS": LocalTree(tmp_path / "sms")},
        backup=LocalTree(tmp_path / "bak"),
    )
    assert len(report["problems"]) >= 3
    assert {name: tree_fingerprint(tmp_path / name) for name in before} == before


def test_it_reads_a_database_a_service_is_writing_without_touching_its_wal(tmp_path, opts):
    summary = generate_julie_tree(tmp_path / "C", opts)
    live = summary["services_data"] / "messenger.db"
    writer = sqlite3.connect(live)  # the service: WAL mode, last commit still in the -wal
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.executemany("INSERT INTO accounts (login, post) VALUES (?, 'SALLE3')", [("a",), ("b",)])
    writer.commit()
    try:
        assert (live.parent / "messenger.db-wal").stat().st_size > 0
        before = tree_fingerprint(tmp_path / "C")
        report = inspect_tree(LocalTree(tmp_path / "C"))
        files = {f["relpath"]: f for f in report["services_hosts"]["serveur"]["files"]}
        assert files["messenger.db"]["ok"] and files["messenger.db"]["tables"]["accounts"] == 5
        assert "messenger.db-wal" not in files
        assert tree_fingerprint(tmp_path / "C") == before
    finally:
        writer.close()


def test_it_reads_utc_times_from_zip_extra_fields(tmp_path):
    path = tmp_path / "t.zip"
    info = zipfile.ZipInfo("datas/Sms.db", date_time=(2020, 1, 1, 0, 0, 0))
    info.extra = struct.pack("<HHBi", 0x5455, 5, 1, 1_700_000_000)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(info, b"x")
    with zipfile.ZipFile(path) as archive:
        assert member_mtime(archive.getinfo("datas/Sms.db")) == (1_700_000_000.0, "unix")
    filetime = (1_700_000_000 * 10_000_000) + 116444736000000000
    ntfs = struct.pack("<HH", 0x000A, 32) + b"\0" * 4 + struct.pack("<HHQQQ", 1, 24, filetime, 0, 0)
    info = zipfile.ZipInfo("x", date_time=(2020, 1, 1, 0, 0, 0))
    info.extra = ntfs
    assert member_mtime(info) == (1_700_000_000.0, "ntfs")


def test_it_keeps_the_local_tree_inside_its_root(tmp_path):
    (tmp_path / "C").mkdir()
    (tmp_path / "secret.txt").write_text("x")
    tree = LocalTree(tmp_path / "C")
    assert isinstance(tree, TreeReader)
    with pytest.raises(ValueError):
        tree.read_bytes("../secret.txt")


def test_it_reports_a_tree_without_julie(tmp_path):
    (tmp_path / "C/Windows").mkdir(parents=True)
    report = inspect_tree(LocalTree(tmp_path / "C"))
    assert codes(report) == {"data_path_not_found"}
    assert report["folders"]["Datas"]["exists"] is False


def test_it_warns_when_two_data_folders_exist(tmp_path, opts):
    generate_julie_tree(tmp_path / "C", opts, data_root="partage/Juliew")
    (tmp_path / "C/Juliew/Datas").mkdir(parents=True)  # an old copy left at the default place
    report = inspect_tree(LocalTree(tmp_path / "C"))
    assert report["julie_roots"] == ["partage/Juliew", "Juliew"]  # the live one first
    assert report["data_path"] == "partage/Juliew/Datas"
    (problem,) = report["problems"]
    assert problem["code"] == "several_data_paths"
    assert problem["paths"] == ["C:\\partage\\Juliew\\Datas", "C:\\Juliew\\Datas"]
