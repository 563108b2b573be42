"""The agent CLI, run as a technician would: `python -m readers …` in a separate process."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.readers.agent.conftest import CPS3, VITALE_2
from tests.readers.agent.test_galss import PSS_SERIAL
from tests.readers.agent.test_report import TOKEN
from tests.support.pcsc import READER_NAMES

ROOT = Path(__file__).resolve().parents[3]


def agent(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "readers", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_imports_without_django():
    code = (
        "import sys, readers.agent.cli, readers.agent.pcsc, readers.agent.diagnosis, readers.agent.report;"
        "import smartcard.scard;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_it_classifies_an_atr_as_json():
    result = agent("classify", "3b751300004709ea9000", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["atr"], data["card"], data["label"]) == (VITALE_2, "vitale", "Carte Vitale 2")

    spaced = agent("classify", "3F", "65", "25", "00", "24", "09", "6B", "90", "00")
    assert spaced.returncode == 0
    assert "Bull CP8" in spaced.stdout and "[inconnue]" in spaced.stdout

    bad = agent("classify", "not-an-atr")
    assert bad.returncode == 2 and "ATR invalide" in bad.stderr


def test_it_analyses_a_galss_file(tmp_path):
    path = tmp_path / "galss.ini"
    path.write_bytes(PSS_SERIAL.replace("Index=8", "Index=11").encode("cp1252"))

    data = json.loads(agent("galss", str(path), "--json").stdout)
    assert data["mode"] == "pss"
    assert data["problems"] == ["com_above_9"]
    assert data["channels"][0]["com_port"] == 11

    text = agent("galss", str(path))
    assert "canal 1 : COM11 (CPS, Log_SV, Vitale)" in text.stdout
    assert "[com_above_9]" in text.stdout

    missing = agent("galss", str(tmp_path / "absent.ini"))
    assert missing.returncode == 1 and "Impossible de lire" in missing.stderr


def test_it_scans_readers_cards_and_galss_leftovers(pcscd, tmp_path):
    pcscd.insert_card(0, VITALE_2)
    pcscd.insert_card(1, CPS3)
    windows = tmp_path / "Windows"
    windows.mkdir()
    (windows / "galss.ini").write_bytes(PSS_SERIAL.encode("cp1252"))

    result = agent("scan", "--json", "--windows-dir", str(windows), env=pcscd.env)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    readers = {r["name"]: r["card"] for r in report["pcsc"]["readers"]}
    assert readers == {READER_NAMES[0]: "vitale", READER_NAMES[1]: "cps"}
    assert report["windows_ga_files"] == ["galss.ini"]
    assert report["galss"]["path"] == str(windows / "galss.ini")
    assert report["galss"]["mode"] == "pss"

    human = agent("scan", env=pcscd.env)
    assert f"{READER_NAMES[0]} : Carte Vitale 2 (ATR {VITALE_2})" in human.stdout
    assert f"{READER_NAMES[1]} : CPS3" in human.stdout


def test_it_scans_with_the_service_stopped(pcscd):
    pcscd.stop()
    result = agent("scan", "--json", env=pcscd.env)
    assert result.returncode == 0
    assert json.loads(result.stdout)["pcsc"]["status"] == "no_service"


def test_it_sends_the_scan_to_the_dashboard(pcscd, dashboard):
    pcscd.insert_card(1, CPS3)

    result = agent(
        "report",
        "--url",
        dashboard.url,
        "--token",
        TOKEN,
        "--cafile",
        dashboard.cafile,
        env=pcscd.env,
    )

    assert result.returncode == 0, result.stderr
    assert "Rapport envoyé (2 lecteur(s))." in result.stdout
    assert "Rapport enregistré." in result.stdout
    [(_path, headers, body)] = dashboard.handler.received
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    sent = json.loads(body)
    assert [r["card"] for r in sent["pcsc"]["readers"]] == [None, "cps"]


def test_it_explains_a_refused_token_without_printing_it(pcscd, dashboard):
    dashboard.handler.reply = (401, {"error": "bad token"})
    result = agent(
        "report",
        "--url",
        dashboard.url,
        "--cafile",
        dashboard.cafile,
        env={**pcscd.env, "JULIEOPS_READERS_TOKEN": TOKEN},
    )
    assert result.returncode == 1
    assert "Rapport non envoyé. Jeton refusé (HTTP 401)" in result.stderr
    assert TOKEN not in result.stderr + result.stdout
