"""post.readers decides the mode from what is installed and configured: GALSS installed with an
empty galss.ini means PSS readers still to be created, never "uninstall GALSS"."""

import json
from pathlib import Path

import pytest

from migrations_app.execution import runner
from migrations_app.models import StepRun
from readers.agent.diagnosis import diagnose
from readers.agent.galss import parse_galss
from readers.models import AgentToken, ReaderReport
from tests.readers.conftest import a_report

pytestmark = pytest.mark.django_db(transaction=True)

# What the installer leaves when it could not create the readers: the sections, no channel.
EMPTY_GALSS = "[CONFIG]\r\nNbCanaux=0\r\n"


def send(machine, report):
    token, _value = AgentToken.issue(machine)
    return ReaderReport.record(token, json.loads(json.dumps(report)))


def run_step(job, alice):
    step = job.steps.get(key="post.readers")
    run = StepRun.objects.create(step=step, requested_by=alice, queue="test")
    runner.execute(run.pk, "test")
    run.refresh_from_db()
    return run


def test_it_asks_to_create_the_pss_readers_when_galss_is_installed_with_an_empty_ini():
    empty = parse_galss(EMPTY_GALSS).as_dict()
    report = a_report("POSTE", readers=(), galss_installed=True, ga_files=["galss.ini"])
    result = diagnose(report, galss=empty, windows_ga_files=["galss.ini", "galsvw32.exe"])
    codes = {i["code"]: i for i in result["items"]}
    assert result["mode"] == "pss_pending"
    assert result["status"] == "fail"
    todo = codes["pss_readers_to_create"]
    assert "« Installer »" in todo["detail"] and "« Réparer »" in todo["detail"]
    assert "galss_absent" not in codes  # never "uninstall GALSS"
    assert "galss_leftovers" not in codes and result["actions"] == []
    assert "à créer" in result["summary"]


def test_it_asks_to_create_the_readers_on_the_post_where_galss_ini_is_empty(job, alice, practice):
    windows = Path(practice.target.root_path) / "Windows"
    windows.mkdir(exist_ok=True)
    (windows / "galss.ini").write_bytes(EMPTY_GALSS.encode("cp1252"))
    (windows / "galsvw32.exe").write_bytes(b"MZ")
    send(job.target, a_report(job.target.hostname, readers=(), galss_installed=True))
    send(practice.client, a_report(practice.client.hostname))

    run = run_step(job, alice)

    assert run.status == "failed"
    target = {i["code"]: i for i in run.result["items"] if i["machine"] == job.target.hostname}
    assert target["pss_readers_to_create"]["status"] == "fail"
    assert "galss_absent" not in target and "galss_leftovers" not in target
    machines = {m["machine"]: m for m in run.result["machines"]}
    assert machines["NOUVEAU-SERVEUR"]["mode"] == "pss_pending"
    assert not [a for a in run.result["actions"] if a["machine"] == "NOUVEAU-SERVEUR"]
    assert (windows / "galsvw32.exe").exists()  # nothing deleted


def test_it_fails_a_card_reader_post_that_never_sent_a_report(job, alice, practice):
    send(job.target, a_report(job.target.hostname))

    run = run_step(job, alice)

    assert run.status == "failed"
    missing = [i for i in run.result["items"] if i["machine"] == practice.client.hostname]
    assert [(i["code"], i["status"]) for i in missing] == [("report", "fail")]
