"""End to end: the real agent (`python -m readers report`, its own process) reads a real pcscd
and posts to the real dashboard served by pytest-django's live_server."""

import http.client
import json
import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from migrations_app.execution import runner
from migrations_app.models import StepRun
from readers.agent.report import MAX_REPORT_BYTES
from readers.models import AgentToken, ReaderReport
from tests.conftest import client_for
from tests.readers.conftest import CPS3, VITALE_2
from tests.support.pcsc import READER_NAMES

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cards(agent_pcscd):
    agent_pcscd.insert_card(0, VITALE_2)
    agent_pcscd.insert_card(1, CPS3)
    yield agent_pcscd
    for slot in list(agent_pcscd.cards):
        agent_pcscd.remove_card(slot)


def agent(*args: str, env: dict) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **env}
    full_env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "readers", "report", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_receives_the_agent_report_and_checks_the_readers(live_server, job, alice, cards):
    target = job.target
    page = client_for(alice).post(f"/machines/{target.pk}/readers/tokens/new/")
    token = re.search(r'<code id="agent-token">([^<]+)</code>', page.content.decode())[1]
    url = f"{live_server.url}/api/readers/report/"
    windows = Path(target.root_path) / "Windows"

    result = agent("--url", url, "--token", token, "--windows-dir", str(windows), env=cards.env)

    assert result.returncode == 0, result.stderr
    assert "Rapport envoyé (2 lecteur(s))." in result.stdout
    assert "Rapport enregistré pour NOUVEAU-SERVEUR (2 lecteur(s))." in result.stdout
    report = ReaderReport.objects.get(machine=target)
    assert {r["name"]: r["atr"] for r in report.readers} == {
        READER_NAMES[0]: VITALE_2,
        READER_NAMES[1]: CPS3,
    }
    assert report.payload["windows_ga_files"] == [] and report.remote_addr == "127.0.0.1"

    wrong = agent("--url", url, "--token", token + "x", env=cards.env)
    assert wrong.returncode == 1 and "Jeton refusé (HTTP 401)" in wrong.stderr
    assert token not in wrong.stderr + wrong.stdout
    assert ReaderReport.objects.count() == 1

    run = StepRun.objects.create(step=job.steps.get(key="post.readers"), requested_by=alice)
    runner.execute(run.pk, "test")
    run.refresh_from_db()
    items = {i["code"]: i for i in run.result["items"] if i["machine"] == "NOUVEAU-SERVEUR"}
    assert items["vitale_reader"]["status"] == "ok" and items["cps_reader"]["status"] == "ok"
    assert items["pcsc_reader_count"]["status"] == "ok"
    # The agent ran here, not on a post named NOUVEAU-SERVEUR (a warning); the client sent
    # nothing: its readers are not checked, the step fails.
    assert items["report"]["status"] == "warn"
    client = [i for i in run.result["items"] if i["machine"] == "POSTE-ACCUEIL"]
    assert [(i["code"], i["status"]) for i in client] == [("report", "fail")]
    assert run.status == "failed"


def test_it_refuses_an_oversized_report_over_http(live_server, job):
    _token, value = AgentToken.issue(job.target)
    parts = urllib.parse.urlsplit(live_server.url)
    body = b'{"pad": "' + b"x" * MAX_REPORT_BYTES + b'"}'
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/api/readers/report/",
            body=body,
            headers={"Authorization": f"Bearer {value}", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        answer = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 413
    assert "trop volumineux" in answer["error"]
    assert not ReaderReport.objects.exists()
