"""Phase 4 and 5 steps on WinRM posts: installation check, clients pointed at the new server."""

import pytest

from julieops.windows import clients, install
from migrations_app.models import AuditEvent

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


def test_it_repoints_a_client_still_mapped_to_the_old_server(located, alice, windows):
    job = located
    state = {"mapped": False}

    def check(params):
        return load("clients_new_server.json" if state["mapped"] else "clients_old_server.json")

    def map_drive(params):
        state["mapped"] = True
        return {"LocalPath": params["Letter"], "RemotePath": params["Root"], "Status": 0}

    endpoint = windows.serve(
        job.clients.get(), {clients.SCRIPT: check, clients.MAP_DRIVE: map_drive}
    )
    run = run_step(job, "post.clients_repoint", alice)
    assert run.status == "passed", (run.summary, run.error)
    sent = scripts(endpoint)
    assert sent[0] == (clients.SCRIPT, {"DataPath": r"\\NOUVEAU-SERVEUR\partage\Juliew"})
    assert sent[1] == (clients.MAP_DRIVE, {"Letter": "J:", "Root": r"\\NOUVEAU-SERVEUR\partage"})
    assert len(sent) == 3  # checked again after the change
    event = AuditEvent.objects.get(action="post.clients_repoint.map_drive")
    assert event.category == "config" and event.data["letters"] == ["J:"]
    # Idempotent: a second run finds the client right and changes nothing.
    again = run_step(job, "post.clients_repoint", alice)
    assert again.status == "passed"
    assert len(scripts(endpoint)) == 4


def test_it_flags_the_old_server_mapping_in_a_dry_run(located, alice, windows):
    job = located
    endpoint = windows.serve(job.clients.get(), {clients.SCRIPT: load("clients_old_server.json")})
    run = run_step(job, "post.clients_repoint", alice, dry_run=True)
    assert run.status == "failed"
    assert "POSTE-ACCUEIL — lecteur J:" in labels(run, "fail")
    assert [s for s, _p in scripts(endpoint)] == [clients.SCRIPT]


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
