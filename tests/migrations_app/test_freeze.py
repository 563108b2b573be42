"""Freezing the old server before the final sync, and undoing it: audited, reversible."""

import json
from pathlib import Path

import pytest

from migrations_app.execution import runner
from migrations_app.models import AuditEvent, StepRun
from tests.conftest import client_for
from tests.support.wsman import WsmanEndpoint, powershell_reply

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "windows"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def windows_source(job, monkeypatch):
    """The old server answers through the WS-Management test endpoint."""
    state = json.loads((FIXTURES / "freeze_applied.json").read_text(encoding="utf-8"))
    restored = {
        "Shares": state["SharesBefore"],
        "Services": [{"Name": s["Name"], "Status": s["Status"]} for s in state["ServicesBefore"]],
    }

    def respond(command):
        script = command.powershell_job()["script"]
        return powershell_reply(state if "Stop-Service" in script else restored)

    with WsmanEndpoint(respond) as endpoint:
        transport = endpoint.transport()
        monkeypatch.setattr(
            "migrations_app.steps.cutover.transport_for", lambda machine, on_secret=None: transport
        )
        job.discovered_paths = {"julie_root": "partage/Juliew", "imaging_roots": []}
        job.save()
        yield endpoint


def run_latest(job, key):
    run = StepRun.objects.filter(step__job=job, step__key=key).latest("pk")
    runner.execute(run.pk, "test")
    run.refresh_from_db()
    return run


def test_it_freezes_then_unfreezes_the_old_server(job, alice, windows_source):
    client = client_for(alice)
    assert client.post(f"/jobs/{job.pk}/tools/freeze/").status_code == 302
    frozen = run_latest(job, "cutover.freeze")
    assert frozen.status == "passed", frozen.summary
    params = windows_source.commands[0].powershell_job()["params"]
    assert params["DataPath"] == "C:\\partage\\Juliew" and params["Apply"] is True
    event = AuditEvent.objects.get(action="source.freeze")
    assert event.category == "data" and event.actor_name == "alice"
    assert event.data["before"]["SharesBefore"][0]["Access"][0]["AccessRight"] == "Full"
    page = client.get(f"/jobs/{job.pk}/?step=cutover.freeze").content.decode()
    assert "Dégeler l'ancien serveur" in page
    assert client.post(f"/jobs/{job.pk}/tools/unfreeze/").status_code == 302
    thawed = run_latest(job, "cutover.unfreeze")
    assert thawed.status == "passed", thawed.summary
    sent = json.loads(windows_source.commands[1].powershell_job()["params"]["StateJson"])
    assert sent["ServicesBefore"][0]["Name"] == "JulieOnlineService"
    assert AuditEvent.objects.filter(action="source.unfreeze").exists()


def test_it_says_to_do_it_by_hand_on_a_local_machine(job, alice):
    job.discovered_paths = {"julie_root": "partage/Juliew"}
    job.save()
    client_for(alice).post(f"/jobs/{job.pk}/tools/freeze/")
    run = run_latest(job, "cutover.freeze")
    assert run.status == "failed" and "à faire à la main" in run.summary


def test_it_refuses_to_unfreeze_what_was_never_frozen(job, alice, windows_source):
    client_for(alice).post(f"/jobs/{job.pk}/tools/unfreeze/")
    run = run_latest(job, "cutover.unfreeze")
    assert run.status == "failed" and "Aucun gel" in run.summary


def test_it_refuses_unknown_tools_and_auditors(job, carol, alice):
    assert client_for(alice).post(f"/jobs/{job.pk}/tools/explode/").status_code == 404
    assert client_for(carol).post(f"/jobs/{job.pk}/tools/freeze/").status_code == 403
    # cutover.freeze is a catalogue step now: the refused action started no run of it.
    assert not StepRun.objects.filter(step__job=job, step__key="cutover.freeze").exists()
