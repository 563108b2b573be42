"""data.mirror with robocopy.exe on the new server when both servers are reached by WinRM."""

import base64
from pathlib import Path

import pytest

from julieops.windows import robocopy_job
from migrations_app.models import AuditEvent, Credential, Evidence
from migrations_app.steps.mirror import DESTINATION_STATE

from .conftest import run_step

pytestmark = pytest.mark.django_db(transaction=True)

LOG = Path(__file__).parents[3] / "fixtures" / "windows" / "robocopy" / "robocopy_fr_unilog.log"
SOURCE_PASSWORD = "Ancien-Srv-Pw-42"


@pytest.fixture
def winrm_job(job, windows):
    """Old and new servers on WinRM; the data were located under C:\\partage\\Juliew."""
    job.discovered_paths = {"julie_root": "partage/Juliew", "imaging_roots": []}
    job.save()
    source = job.source
    credential = Credential(name="ancien", username=r"ANCIEN-SERVEUR\julie")
    credential.secret = SOURCE_PASSWORD
    credential.save()
    source.transport, source.address, source.port = "winrm", "192.0.2.10", 5986
    source.credential, source.host_key_fingerprint, source.root_path = credential, "AA:BB", ""
    source.save()
    return job


def robocopy_target(windows, job, destination):
    data = LOG.read_bytes()

    def status(params):
        return {
            "State": "Ready",
            "ExitCode": 3,
            "Chunk": base64.b64encode(data[params["Offset"] :]).decode(),
            "Size": len(data),
        }

    return windows.serve(
        job.target,
        {
            DESTINATION_STATE: destination,
            robocopy_job.START_SCRIPT: {"ExitFile": r"C:\ProgramData\JulieOps\jobs\t.exit"},
            robocopy_job.STATUS_SCRIPT: status,
        },
    )


def test_it_runs_robocopy_on_the_new_server_with_the_old_servers_credential(
    winrm_job, alice, windows
):
    job = winrm_job
    endpoint = robocopy_target(windows, job, {"Exists": False, "Entries": 0, "Julie": False})
    run = run_step(job, "data.mirror", alice)
    assert run.status == "passed", (run.summary, run.error)
    root = run.result["roots"][0]
    assert run.result["engine"] == "robocopy"
    assert root["root"] == "partage/Juliew" and root["exit_code"] == 3
    assert root["files"]["copied"] == 1 and root["files"]["failed"] == 0
    start = next(
        c.powershell_job()
        for c in endpoint.commands
        if c.powershell_job()["script"] == robocopy_job.START_SCRIPT
    )
    assert start["secrets"] == {"Password": SOURCE_PASSWORD}
    assert SOURCE_PASSWORD not in start["script"] + str(start["params"])
    assert start["params"]["ShareRoot"] == r"\\192.0.2.10\C$"
    assert start["params"]["UserName"] == r"ANCIEN-SERVEUR\julie"
    assert start["params"]["Arguments"][:2] == [
        r"\\192.0.2.10\C$\partage\Juliew",
        r"C:\partage\Juliew",
    ]
    for body in endpoint.bodies:
        assert SOURCE_PASSWORD.encode() not in body
    log = "\n".join(run.log_lines.values_list("text", flat=True))
    assert "Nouveau fichier" in log and SOURCE_PASSWORD not in log
    evidence = Evidence.objects.get(run=run, kind="robocopy-log")
    assert evidence.sha256 == root["log_sha256"]
    event = AuditEvent.objects.get(action="data.mirror")
    assert event.data["roots"][0]["exit_code"] == 3


def test_it_refuses_a_destination_holding_other_data(winrm_job, alice, windows):
    job = winrm_job
    endpoint = robocopy_target(windows, job, {"Exists": True, "Entries": 4, "Julie": False})
    run = run_step(job, "data.mirror", alice)
    assert run.status == "failed" and "sans données Julie" in run.summary
    scripts = [c.powershell_job()["script"] for c in endpoint.commands]
    assert scripts == [DESTINATION_STATE]


def test_it_runs_robocopy_for_imaging_on_another_drive_through_its_own_share(
    winrm_job, alice, windows
):
    from migrations_app.execution.machines import FIXED_DRIVES

    job = winrm_job
    job.discovered_paths = {
        **job.discovered_paths,
        "imaging_locations": [{"drive": "D:", "path": "Imagerie", "windows": r"D:\Imagerie"}],
    }
    job.save()
    data = LOG.read_bytes()
    endpoint = windows.serve(
        job.target,
        {
            FIXED_DRIVES: ["C:", "D:"],
            DESTINATION_STATE: {"Exists": False, "Entries": 0, "Julie": False},
            robocopy_job.START_SCRIPT: {"ExitFile": r"C:\ProgramData\JulieOps\jobs\t.exit"},
            robocopy_job.STATUS_SCRIPT: lambda p: {
                "State": "Ready",
                "ExitCode": 3,
                "Chunk": base64.b64encode(data[p["Offset"] :]).decode(),
                "Size": len(data),
            },
        },
    )
    run = run_step(job, "data.mirror", alice)
    assert run.status == "passed", (run.summary, run.error)
    assert [(r["drive"], r["root"]) for r in run.result["roots"]] == [
        ("C:", "partage/Juliew"),
        ("D:", "Imagerie"),
    ]
    starts = [
        c.powershell_job()["params"]
        for c in endpoint.commands
        if c.powershell_job()["script"] == robocopy_job.START_SCRIPT
    ]
    assert starts[1]["ShareRoot"] == r"\\192.0.2.10\D$"
    assert starts[1]["Arguments"][:2] == [r"\\192.0.2.10\D$\Imagerie", r"D:\Imagerie"]
    # server.register is excluded from the Julie root only.
    assert not any("server.register" in a for a in starts[1]["Arguments"])
    assert any("server.register" in a for a in starts[0]["Arguments"])


def test_it_refuses_imaging_on_a_drive_the_new_server_lacks(winrm_job, alice, windows):
    from migrations_app.execution.machines import FIXED_DRIVES

    job = winrm_job
    job.discovered_paths = {
        **job.discovered_paths,
        "imaging_locations": [{"drive": "E:", "path": "Radios", "windows": r"E:\Radios"}],
    }
    job.save()
    endpoint = windows.serve(job.target, {FIXED_DRIVES: "C:"})
    run = run_step(job, "data.mirror", alice)
    assert run.status == "failed" and "n'a pas de lecteur E:" in run.summary
    assert [c.powershell_job()["script"] for c in endpoint.commands] == [FIXED_DRIVES]
