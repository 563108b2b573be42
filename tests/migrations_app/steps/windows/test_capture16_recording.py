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
