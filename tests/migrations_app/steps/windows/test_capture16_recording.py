"""Field captures: a step run over WinRM keeps every raw output it received, masked."""

import json

import pytest

from julieops.julietree.remote import LIST_DIR
from julieops.remote import winrm as file_scripts
from julieops.remote.powershell import RESULT_MARKER
from julieops.windows import firewall, network
from migrations_app.execution import capture
from migrations_app.models import RawCapture

from .conftest import PASSWORD, load, run_step
from .conftest import scripts as sent

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_keeps_each_raw_output_of_a_run_with_its_verdict(job, alice, windows):
    recorded = load("network_bad.json")
    target = windows.serve(job.target, {network.SCRIPT: recorded["NOUVEAU-SRV"]})
    windows.serve(job.clients.get(), {network.SCRIPT: recorded["ACCUEIL"]})
    run = run_step(job, "target.network", alice)
    rows = list(RawCapture.objects.filter(run=run).order_by("seq"))
    assert [r.kind for r in rows] == ["context", "powershell", "powershell"]
    context = rows[0].params
    assert context["step"] == "target.network"
    assert context["verdict"]["status"] == run.status == "failed"
    assert [(i["label"], i["status"]) for i in context["verdict"]["items"]] == [
        (i["label"], i["status"]) for i in run.result["items"]
    ]
    places = {m["hostname"]: m["place"] for m in context["machines"]}
    assert places == {
        "ANCIEN-SERVEUR": "source",
        "NOUVEAU-SERVEUR": "target",
        "POSTE-ACCUEIL": "client",
    }
    first = rows[1]
    assert first.name == "windows.network" and first.hostname == "NOUVEAU-SERVEUR"
    assert first.machine["transport"] == "winrm" and first.exit_code == 0
    # As received: the marker line with the JSON the script printed, quser text inside it.
    line = first.output.strip()
    assert line.startswith(RESULT_MARKER)
    assert json.loads(line[len(RESULT_MARKER) :])["result"] == recorded["NOUVEAU-SRV"]
    assert "secretariat" in first.output
    # The same bytes the endpoint sent (nothing parsed and re-serialised).
    assert target.commands[0].reply.chunks[0][1].decode().strip() == line
    everything = json.dumps([r.params for r in rows]) + "".join(r.output for r in rows)
    assert PASSWORD not in everything


def test_it_records_the_transport_s_own_file_scripts_and_masks_secret_params(job, alice, windows):
    def rules(params):
        return load("firewall_ok.json" if params["Apply"] else "firewall_missing_8080.json")

    windows.serve(job.target, {firewall.SCRIPT: rules})
    run = run_step(job, "target.firewall", alice)
    rows = RawCapture.objects.filter(run=run, kind="powershell").order_by("seq")
    assert [(r.name, r.params["Apply"]) for r in rows] == [
        ("windows.firewall", False),
        ("windows.firewall", True),
    ]
    kept = capture.mask_params(
        {"Password": "x", "ApiToken": "y", "Path": f"C:\\{PASSWORD}", "Data": "QUJD"},
        {PASSWORD},
    )
    assert kept == {
        "Password": "***",
        "ApiToken": "***",
        "Path": "C:\\***",
        "Data": "<4 caractères non conservés>",
    }


def test_it_records_nothing_outside_a_run(job, windows):
    from migrations_app.execution.machines import transport_for

    endpoint = windows.serve(job.target, {LIST_DIR: []})
    transport = transport_for(job.target)
    assert transport.powershell(LIST_DIR, {"Path": "C:/"}) == []
    assert sent(endpoint) == [(LIST_DIR, {"Path": "C:/"})]
    assert RawCapture.objects.count() == 0
    assert file_scripts.READ_FILE.lstrip().startswith("# julieops-script: files.read")


def test_it_keeps_configuration_text_and_withholds_patient_files_and_databases():
    assert capture.file_text("C:/Windows/galss.ini", b"[CONFIG]\r\nPORT=COM3\r\n")
    assert capture.file_text("C:/partage/Juliew/DOCPATIENT/12/note.txt", b"Mme X") is None
    assert capture.file_text("C:/ProgramData/Julie Software/datas/Sms.db", b"SQLite") is None
    assert capture.mask_file_text("[BAL]\r\nLogin=cab\r\nMotDePasse=s3cret\r\n") == (
        "[BAL]\r\nLogin=cab\r\nMotDePasse=***\r\n"
    )


def recorder_for(job, alice):
    from migrations_app.models import StepRun

    run = StepRun.objects.create(step=job.steps.get(key="target.network"), requested_by=alice)
    return run, capture.Recorder(run, {PASSWORD})


def test_it_withholds_a_database_read_over_winrm_and_keeps_galss_ini_masked(job, alice, windows):
    import base64

    from migrations_app.execution.machines import transport_for

    files = {
        r"C:\ProgramData\Julie Software\datas\Sms.db": b"SQLite format 3\0 0612345678",
        r"C:\Windows\galss.ini": b"[CONFIG]\r\nPORT=COM3\r\nMotDePasse=abc\r\n",
    }
    answer = {file_scripts.READ_FILE: lambda p: base64.b64encode(files[p["Path"]]).decode()}
    windows.serve(job.target, answer)
    run, recorder = recorder_for(job, alice)
    with capture.recording(recorder):
        transport = transport_for(job.target)
        for path, data in files.items():
            assert transport.read_file(path) == data  # the step gets the file untouched
    recorder.save("passed", "", {})
    sms, galss = RawCapture.objects.filter(run=run, kind="powershell").order_by("seq")
    assert sms.withheld and sms.output == "" and "0612345678" not in json.dumps(sms.params)
    assert sms.params["_file"]["size"] == len(files[r"C:\ProgramData\Julie Software\datas\Sms.db"])
    assert not galss.withheld
    payload = json.loads(galss.output.strip()[len(RESULT_MARKER) :])
    assert base64.b64decode(payload["result"]) == b"[CONFIG]\r\nPORT=COM3\r\nMotDePasse=***\r\n"


class FakeTransport:
    kind = "winrm"

    def __init__(self, stdout):
        self.stdout = stdout

    def run(self, command, **kwargs):
        from julieops.remote.base import CommandResult

        return CommandResult(0, self.stdout, "")


def test_it_caps_each_output_and_each_run(job, alice, monkeypatch):
    from julieops.remote.powershell import bootstrap_argv, build_stdin

    monkeypatch.setattr(capture, "OUTPUT_CAP", 100)
    monkeypatch.setattr(capture, "RUN_CAP", 250)
    run, recorder = recorder_for(job, alice)
    stdin = build_stdin("# julieops-script: windows.network\nparam()", {})
    with capture.recording(recorder):
        transport = capture.watch(FakeTransport("x" * 180), job.target)
        for _ in range(4):
            assert transport.run(bootstrap_argv(), stdin=stdin).stdout == "x" * 180
    recorder.save("passed", "", {})
    rows = list(RawCapture.objects.filter(run=run).order_by("seq"))
    kept = [r for r in rows if r.kind == "powershell"]
    assert [len(r.output) for r in kept] == [100, 100]  # 250 characters at most per run
    assert all(r.truncated and r.size == 180 for r in kept)
    assert rows[0].params["dropped"] == 2
