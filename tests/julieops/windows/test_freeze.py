import json
from pathlib import Path

from julieops.windows import freeze
from tests.support.wsman import WsmanEndpoint, powershell_reply

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "windows"


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


def test_it_passes_retired_hosts_only_when_every_julie_service_is_disabled():
    disabled = {"Name": "JulieOnlineService", "DisplayName": "Julie Online Service (SMS)",
                "Status": "Stopped", "StartType": "Disabled"}  # fmt: skip
    manual = {**disabled, "Name": "JulieRdv", "DisplayName": "Julie RDV", "StartType": "Manual"}
    assert [i["status"] for i in freeze.retire_verdict("ANCIEN", {"Services": disabled})] == ["ok"]
    items = freeze.retire_verdict("POSTE-SMS", {"Services": [disabled, manual]})
    assert [i["status"] for i in items] == ["ok", "fail"]
    assert "démarrage : Manual" in items[1]["detail"] and items[1]["label"].startswith("POSTE-SMS")
    # Nothing read back is never "ok".
    assert freeze.retire_verdict("ANCIEN", {})[0]["status"] == "warn"


def test_it_sends_the_retire_script_with_its_parameters():
    with WsmanEndpoint(lambda command: powershell_reply({"Services": []})) as endpoint:
        endpoint.transport().powershell(freeze.RETIRE, freeze.retire_params(apply=True))
    job = endpoint.commands[0].powershell_job()
    assert job["script"] == freeze.RETIRE
    assert job["params"] == {"ServicePatterns": ["Julie*", "Servcle*"], "Apply": True}
