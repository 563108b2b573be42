import json
from pathlib import Path

from julieops.windows import freeze
from tests.support.wsman import WsmanEndpoint, powershell_reply

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "windows"


def load(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def by_label(result):
    return {i["label"]: i for i in result["items"]}


def test_it_passes_a_frozen_source():
    result = freeze.freeze_verdict(load("freeze_applied.json"))
    assert result["status"] == "ok"
    assert by_label(result)["Partage « partage »"]["detail"] == "lecture seule"


def test_it_fails_while_the_share_is_writable_or_julie_is_open():
    data = load("freeze_applied.json")
    data["Shares"][0]["Access"][0]["AccessRight"] = "Change"
    data["Processes"] = [{"Name": "w32mkde", "Id": 4242}]
    data["Services"][0]["Status"] = "StopPending"
    result = freeze.freeze_verdict(data)
    items = by_label(result)
    assert result["status"] == "fail"
    assert "Tout le monde (Change)" in items["Partage « partage »"]["detail"]
    assert "w32mkde.exe" in items["Programmes ouverts"]["detail"]
    assert items["Service Julie Online Service (SMS)"]["status"] == "fail"


def test_it_checks_that_unfreezing_restores_what_was_found():
    state = load("freeze_applied.json")
    restored = {
        "Shares": state["SharesBefore"],
        "Services": [
            {"Name": "JulieOnlineService", "Status": "Running"},
            {"Name": "JulieWebServices", "Status": "Stopped"},
        ],
    }
    result = freeze.unfreeze_verdict(restored, state)
    items = by_label(result)
    assert items["Partage « partage »"]["status"] == "ok"
    assert items["Service Julie Online Service (SMS)"]["status"] == "ok"
    assert items["Service JulieWebServices"]["status"] == "fail"
    assert "Service Julie RDV" not in items  # was stopped before the freeze: left alone


def test_it_sends_the_state_as_a_parameter_never_inside_the_script():
    state = load("freeze_applied.json")
    state["SharesBefore"][0]["Name"] = "partage'; Remove-Item C:\\ -Recurse; '"
    with WsmanEndpoint(lambda command: powershell_reply({"Shares": [], "Services": []})) as ep:
        transport = ep.transport()
        transport.powershell(freeze.UNFREEZE, freeze.unfreeze_params(state))
    job = ep.commands[0].powershell_job()
    assert job["script"] == freeze.UNFREEZE
    assert "Remove-Item" not in job["script"]
    assert json.loads(job["params"]["StateJson"])["SharesBefore"][0]["Name"].startswith("partage'")
