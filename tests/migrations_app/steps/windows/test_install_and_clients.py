"""Phase 4 and 5 steps on WinRM posts: installation check, clients pointed at the new server."""

import json

import pytest

from julieops.windows import install
from migrations_app.models import AuditEvent
from readers.models import AgentToken, ReaderReport
from tests.readers.conftest import a_report

from .conftest import load, run_step, scripts

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def located(job, alice):
    assert run_step(job, "source.locate", alice).status == "passed"
    job.refresh_from_db()
    return job


def labels(run, status):
    return [i["label"] for i in run.result["items"] if i["status"] == status]


def test_it_fails_install_verify_when_a_client_runs_a_key_server(job, alice, windows):
    server = {"JulieExe": True, "Servcle": True, "Listen1947": True}
    client = {"JulieExe": False, "Servcle": True, "Listen1947": True}
    endpoint = windows.serve(job.target, {install.SCRIPT: server})
    windows.serve(job.clients.get(), {install.SCRIPT: client})
    run = run_step(job, "install.verify", alice)
    assert run.status == "failed"
    # Julie.exe is not yet expected on the client; its key server is a failure.
    assert labels(run, "fail") == ["POSTE-ACCUEIL — serveur de clé"]
    assert scripts(endpoint) == [(install.SCRIPT, install.script_params(r"C:\Juliew"))]


def test_it_passes_install_verify_on_the_key_host_only(located, alice, windows):
    job = located
    config = load("install_config_registry.json")
    windows.serve(
        job.target,
        {install.SCRIPT: {"JulieExe": True, "Servcle": True, "Listen1947": True, **config}},
    )
    windows.serve(job.clients.get(), {install.SCRIPT: {"JulieExe": False, "Servcle": False}})
    run = run_step(job, "install.verify", alice)
    assert run.status == "passed", run.summary


def send_session(machine, mappings, *, linked=True, layers=()):
    """The post agent's report from the user's own session (what WinRM never sees)."""
    report = a_report(machine.hostname)
    report["user_session"] = {
        "user": "accueil",
        "drive_mappings": [
            {"letter": letter, "remote": remote, "reachable": bool(datas), "datas": list(datas)}
            for letter, remote, datas in mappings
        ],
        "enable_linked_connections": linked,
        "compat_layers": list(layers),
    }
    token, _value = AgentToken.issue(machine)
    return ReaderReport.record(token, json.loads(json.dumps(report)))


def test_it_reads_the_client_mappings_from_the_users_session_never_through_winrm(
    located, alice, windows
):
    job = located
    client = job.clients.get()
    endpoint = windows.serve(client, {})
    send_session(client, [("J:", r"\\ANCIEN-SERVEUR\partage", [r"J:\Juliew\Datas"])])
    run = run_step(job, "post.clients_repoint", alice)
    assert run.status == "failed"
    stale = {i["label"]: i for i in run.result["items"]}["POSTE-ACCUEIL — lecteur J:"]
    assert "ancien serveur" in stale["detail"]
    todo = {i["label"]: i for i in run.result["items"]}[
        "POSTE-ACCUEIL — à faire dans la session de l'utilisateur"
    ]
    assert r"net use J: \\NOUVEAU-SERVEUR\partage /persistent:yes" in todo["detail"]
    assert endpoint.commands == []  # nothing read nor mapped in a WinRM logon session
    assert not AuditEvent.objects.filter(action="post.clients_repoint.map_drive").exists()
    # The user maps the drive in their session; the agent's next report shows it.
    send_session(client, [("J:", r"\\NOUVEAU-SERVEUR\partage", [r"J:\Juliew\Datas"])])
    again = run_step(job, "post.clients_repoint", alice)
    assert again.status == "passed", (again.summary, again.result["items"])
    assert again.result["sessions"]["POSTE-ACCUEIL"]["user"] == "accueil"


def test_it_says_to_check_a_client_without_a_session_report(located, alice):
    run = run_step(located, "install.clients", alice)
    assert run.status == "warning"
    line = run.result["items"][0]
    assert line["label"] == "POSTE-ACCUEIL — session de l'utilisateur"
    assert "à vérifier" in line["detail"] and "pas par WinRM" in line["detail"]


def test_it_warns_when_an_elevated_julie_cannot_see_the_users_drives(located, alice):
    job = located
    client = job.clients.get()
    send_session(client, [("J:", r"\\NOUVEAU-SERVEUR\partage", [r"J:\Juliew\Datas"])], linked=False)
    run = run_step(job, "install.clients", alice)
    assert run.status == "warning"
    line = {i["label"]: i for i in run.result["items"]}["POSTE-ACCUEIL — EnableLinkedConnections"]
    assert line["status"] == "warn" and "administrateur" in line["detail"]


def test_it_accepts_the_sentinel_licence_manager_listening_on_1947_on_a_client(
    located, alice, windows
):
    job = located
    server = {"JulieExe": True, "Servcle": True, "Listen1947": True}
    windows.serve(job.target, {install.SCRIPT: {**server, **load("install_config_registry.json")}})
    windows.serve(
        job.clients.get(),
        {install.SCRIPT: {"JulieExe": True, "Servcle": False, "Listen1947": True}},
    )
    run = run_step(job, "install.verify", alice)
    assert run.status == "passed", (run.summary, run.result["items"])
    line = {i["label"]: i for i in run.result["items"]}["POSTE-ACCUEIL — serveur de clé"]
    assert line["status"] == "ok" and "Sentinel" in line["detail"]


def test_it_fails_install_verify_when_servcle_is_stopped_on_the_key_host(located, alice, windows):
    job = located
    answer = {"JulieExe": True, "Servcle": False, "Listen1947": True}
    windows.serve(job.target, {install.SCRIPT: {**answer, **load("install_config_registry.json")}})
    windows.serve(job.clients.get(), {install.SCRIPT: {"JulieExe": False, "Servcle": False}})
    run = run_step(job, "install.verify", alice)
    assert run.status == "failed"
    assert labels(run, "fail") == ["NOUVEAU-SERVEUR — serveur de clé"]


def test_it_compares_julies_configured_paths_with_the_migrated_ones(located, alice, windows):
    job = located
    answer = {"JulieExe": True, "Servcle": True, "Listen1947": True}
    windows.serve(
        job.target, {install.SCRIPT: {**answer, **load("install_config_ini_old_server.json")}}
    )
    windows.serve(job.clients.get(), {install.SCRIPT: {"JulieExe": False, "Servcle": False}})
    run = run_step(job, "install.verify", alice)
    assert run.status == "failed"
    items = {i["label"]: i for i in run.result["items"]}
    data = items["NOUVEAU-SERVEUR — chemin des données"]
    assert data["status"] == "fail" and r"attendu C:\partage\Juliew\Datas" in data["detail"]
    assert items["NOUVEAU-SERVEUR — chemin des radios et images"]["status"] == "fail"
    assert run.result["data_path"] == r"C:\partage\Juliew\Datas"


def test_it_says_to_check_the_paths_by_hand_when_julie_keeps_them_elsewhere(
    located, alice, windows
):
    job = located
    answer = {"JulieExe": True, "Servcle": True, "Listen1947": True}
    windows.serve(job.target, {install.SCRIPT: {**answer, "Config": {"Registry": [], "Ini": []}}})
    windows.serve(job.clients.get(), {install.SCRIPT: {"JulieExe": False, "Servcle": False}})
    run = run_step(job, "install.verify", alice)
    assert run.status == "warning"
    line = {i["label"]: i for i in run.result["items"]}[
        "NOUVEAU-SERVEUR — chemins configurés dans Julie"
    ]
    assert "à propos" in line["detail"]
