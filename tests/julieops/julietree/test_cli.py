import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from julieops.julietree.cli import main
from julieops.julietree.generate import generate_julie_tree, generate_sms_host

REPO = Path(__file__).resolve().parents[3]
REPORT_KEYS = {
    "root", "name", "julie_roots", "julie_root", "data_path", "data_path_windows",
    "imaging_roots", "folders", "server_register", "sms_host", "services_hosts",
    "services_zips", "pxdatas", "backup", "extras", "problems",
}  # fmt: skip


def run(argv):
    out = io.StringIO()
    code = main([str(a) for a in argv], stdout=out)
    return code, out.getvalue()


def test_it_exits_0_with_a_french_text_report_on_a_clean_tree(tmp_path, opts):
    generate_julie_tree(tmp_path / "C", opts)
    code, text = run([tmp_path / "C"])
    assert code == 0
    assert "Chemin des données : C:\\Juliew\\Datas" in text
    assert "Aucun problème détecté." in text
    assert "JULIEONLINESERVICE" in text and "Sms.db" in text


def test_it_exits_1_with_problems_and_prints_json(tmp_path, opts):
    generate_julie_tree(tmp_path / "srv", opts, sms_host="POSTE-SMS")
    generate_sms_host(tmp_path / "sms", opts, sms_host="POSTE-SMS", sms_db_stale=True)
    generate_julie_tree(tmp_path / "bak", opts, backup=True)
    code, out = run(
        [
            tmp_path / "srv",
            "--host",
            f"POSTE-SMS={tmp_path / 'sms'}",
            "--backup",
            tmp_path / "bak",
            "--json",
        ]
    )
    assert code == 1
    report = json.loads(out)
    assert set(report) == REPORT_KEYS
    assert {p["code"] for p in report["problems"]} == {
        "sms_on_secondary_host",
        "sms_db_stale",
        "pxdatas_already_sent",
    }
    assert set(report["folders"]) == {
        "ARCH",
        "Datas",
        "DOCPATIENT",
        "fscan",
        "IMAGE",
        "XRAY",
        "XRAY3D",
    }
    assert set(report["pxdatas"]["manifest"][0]) == {"path", "size", "mtime", "sha256"}
    assert report["backup"]["pxdatas_already_sent"]


def test_it_exits_2_on_usage_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path / "absent")])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path), "--host", "SANS-CHEMIN"])
    assert exc.value.code == 2
    assert "NOM=CHEMIN" in capsys.readouterr().err


def test_it_runs_as_a_django_management_command(tmp_path, opts):
    generate_julie_tree(tmp_path / "ok", opts, data_root="partage/Juliew")
    generate_julie_tree(tmp_path / "bad", opts, server_register=False)
    cmd = [sys.executable, "manage.py", "inspect_tree"]
    ok = subprocess.run(
        [*cmd, str(tmp_path / "ok"), "--json"], cwd=REPO, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["data_path_windows"] == "C:\\partage\\Juliew\\Datas"
    bad = subprocess.run([*cmd, str(tmp_path / "bad")], cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 1, bad.stderr
    assert "[server_register_missing]" in bad.stdout
