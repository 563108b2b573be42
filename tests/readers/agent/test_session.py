"""The agent's user-session part of the report (schema /2): collected in the user's session,
validated strictly; a /1 report from an older agent is still accepted."""

import copy
from pathlib import Path

from readers.agent import session
from readers.agent.report import SCHEMA_V1, build_report, validate_report

LAYERS = session.LAYERS
POLICIES = session.POLICIES


def collected(tmp_path):
    share = tmp_path / "J"
    (share / "Juliew" / "Datas").mkdir(parents=True)
    registry = {
        ("HKLM", POLICIES): {"EnableLinkedConnections": 1},
        ("HKCU", LAYERS): {r"C:\Juliew\Julie.exe": "~ RUNASADMIN WIN7RTM", r"C:\Autre.exe": "~ X"},
        ("HKLM", LAYERS): {},
    }

    def listdir(path):
        real = path.replace("J:\\", str(share) + "/").replace("\\", "/")
        try:
            return sorted(p.name for p in Path(real).iterdir() if p.is_dir())
        except OSError:
            return None

    return session.collect(
        values=lambda hive, key: registry.get((hive, key), {}),
        mapped=lambda: [("J:", r"\\NOUVEAU-SERVEUR\partage"), ("K:", r"\\NAS\archives")],
        listdir=listdir,
        user="accueil",
    )


def test_it_collects_the_users_drives_and_compatibility_flags(tmp_path):
    found = collected(tmp_path)
    assert found["user"] == "accueil"
    j, k = found["drive_mappings"]
    assert j == {
        "letter": "J:",
        "remote": r"\\NOUVEAU-SERVEUR\partage",
        "reachable": True,
        "datas": [r"J:\Juliew\Datas"],
    }
    assert k["reachable"] is False and k["datas"] == []
    assert found["enable_linked_connections"] is True
    assert found["compat_layers"] == [
        {"hive": "HKCU", "program": r"C:\Juliew\Julie.exe", "flags": "~ RUNASADMIN WIN7RTM"}
    ]


def test_it_collects_nothing_off_windows():
    assert session.collect() is None


def test_it_validates_the_session_strictly_and_still_accepts_a_v1_report(tmp_path):
    scan = {"status": "no_reader", "message": "aucun lecteur", "readers": []}
    report = build_report(scan, user_session=collected(tmp_path))
    assert validate_report(report) == []
    assert validate_report(build_report(scan)) == []  # not collected: null
    old = build_report(scan)
    old["schema"] = SCHEMA_V1
    del old["user_session"]
    assert validate_report(old) == []
    missing = build_report(scan)
    del missing["user_session"]
    assert "rapport : champ(s) manquant(s) : user_session" in validate_report(missing)
    bad = copy.deepcopy(report)
    bad["user_session"]["drive_mappings"][0]["letter"] = "J"
    bad["user_session"]["compat_layers"][0]["hive"] = "HKU"
    bad["user_session"]["extra"] = 1
    errors = validate_report(bad)
    assert "user_session : champ(s) inconnu(s) : extra" in errors
    bad["user_session"].pop("extra")
    errors = validate_report(bad)
    assert any(e.startswith("user_session.drive_mappings[0].letter") for e in errors)
    assert any(e.startswith("user_session.compat_layers[0].hive") for e in errors)
