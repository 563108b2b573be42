"""The training simulator through the real WinRM client (pywinrm over HTTPS, pinned
certificate, HTTP Basic): answers in the real scripts' shapes, changes its state, keeps it across
a restart, runs robocopy's scheduled task with our mirror engine, never answers ok to a script it
does not know."""

import pytest

from julieops.julietree.writer import remote_writer
from julieops.remote import PowerShellError, RemoteError, open_transport
from julieops.remote.hostkeys import certificate_fingerprint
from julieops.windows import firewall, freeze, network, robocopy_job, share
from training.server import TrainingServer
from training.setup import prepare
from training.state import State


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "training"
    prepare(folder, image_bytes=2000)
    return folder


@pytest.fixture
def server(folder):
    with TrainingServer(folder) as running:
        yield running


def transport(state: State, key: str, **overrides):
    post = state.post(key)
    options = {
        "password": post["password"],
        "pinned_fingerprint": certificate_fingerprint(bytes.fromhex(post["certificate_der"])),
        "auth": "basic",
        "operation_timeout": 1,
        "read_timeout": 5,
        "retries": 0,
    } | overrides
    return open_transport("winrm", post["address"], post["port"], post["username"], **options)


def test_it_fails_a_script_it_does_not_know_and_one_without_a_name(server):
    posts = transport(server.state, "nouveau-serveur")
    with pytest.raises(PowerShellError, match="script inconnu du simulateur : windows.nouveau"):
        posts.powershell("# julieops-script: windows.nouveau\nparam()\n1", {})
    with pytest.raises(PowerShellError, match="script inconnu du simulateur : \\(sans nom\\)"):
        posts.powershell("Get-Service", {})


def test_it_refuses_a_wrong_password_and_another_posts_certificate(server):
    state = server.state
    with pytest.raises(RemoteError, match="Authentification WinRM refusée"):
        transport(state, "ancien-serveur", password="faux").powershell(network.SCRIPT, {})
    other = state.post("nouveau-serveur")["certificate_der"]
    wrong = certificate_fingerprint(bytes.fromhex(other))
    with pytest.raises(RemoteError, match="a changé"):
        transport(state, "ancien-serveur", pinned_fingerprint=wrong).powershell(network.SCRIPT)


def test_it_answers_the_share_script_and_creates_the_share_once(server):
    new = transport(server.state, "nouveau-serveur")
    params = {"Path": r"C:\partage", "Name": "partage", "Apply": False}
    before = share.share_verdict(new.powershell(share.SCRIPT, params))
    assert before["status"] == "fail"
    after = new.powershell(share.SCRIPT, {**params, "Apply": True})
    assert share.share_verdict(after)["status"] == "ok", after
    assert (server.state.folder / "posts/nouveau-serveur/C/partage").is_dir()
    again = new.powershell(share.SCRIPT, {**params, "Apply": True})
    assert [s["Name"] for s in again["Shares"]].count("partage") == 1


def test_it_adds_only_the_missing_firewall_rules(server):
    sms = transport(server.state, "poste-sms")
    ports = firewall.ports_for(data_server=False, key_host=False, services_host=True)
    params = firewall.script_params(ports=ports)
    assert (
        firewall.firewall_verdict(sms.powershell(firewall.SCRIPT, params), ports=ports)["status"]
        == "ok"
    )
    count = len(sms.powershell(firewall.SCRIPT, params)["Rules"])
    applied = sms.powershell(firewall.SCRIPT, firewall.script_params(apply=True, ports=ports))
    assert len(applied["Rules"]) == count  # nothing was missing


def test_it_reports_julie_open_freezes_and_keeps_the_state_across_a_restart(
    folder,
):
    from training.__main__ import main

    assert main(["--state", str(folder), "programs", "poste-accueil", "open"]) == 0
    with TrainingServer(folder) as server:
        reception = transport(server.state, "poste-accueil")
        found = reception.powershell(freeze.OPEN_PROGRAMS, freeze.programs_params())
        assert freeze.open_programs(found) == ["Julie.exe", "w32mkde.exe"]
        old = transport(server.state, "ancien-serveur")
        data = old.powershell(freeze.FREEZE, freeze.freeze_params(r"C:\partage\Juliew", True))
        assert freeze.freeze_verdict(data, "ANCIEN-SERVEUR")["status"] == "ok", data
    assert main(["--state", str(folder), "programs", "poste-accueil", "close"]) == 0
    with TrainingServer(folder) as restarted:  # a new process reads the same file
        old = restarted.state.post("ancien-serveur")
        assert {s["Status"] for s in old["services"]} == {"Stopped"}
        assert old["shares"][-1]["Access"][0]["AccessRight"] == "Read"
        reception = transport(restarted.state, "poste-accueil")
        assert (
            freeze.open_programs(
                reception.powershell(freeze.OPEN_PROGRAMS, freeze.programs_params())
            )
            == []
        )
        undo = transport(restarted.state, "ancien-serveur").powershell(
            freeze.UNFREEZE, freeze.unfreeze_params(data)
        )
        assert freeze.unfreeze_verdict(undo, data)["status"] == "ok", undo


def test_it_refuses_to_start_a_disabled_service_as_windows_does(server):
    sms = transport(server.state, "poste-sms")
    before = sms.powershell(freeze.FREEZE, freeze.freeze_params("", True))
    retired = sms.powershell(freeze.RETIRE, freeze.retire_params(apply=True))
    assert freeze.retire_verdict("POSTE-SMS", retired)[0]["status"] == "ok"
    with pytest.raises(PowerShellError, match="cannot be started"):
        sms.powershell(freeze.UNFREEZE, freeze.unfreeze_params(before))


def test_its_files_scripts_serve_the_remote_tree_and_writer(server):
    new = transport(server.state, "nouveau-serveur")
    writer = remote_writer(new, "C:/", hostname="NOUVEAU-SERVEUR")
    writer.write_file("Juliew/essai.txt", b"bonjour")
    assert writer.reader.read_bytes("Juliew/essai.txt") == b"bonjour"
    assert (server.state.folder / "posts/nouveau-serveur/C/Juliew/essai.txt").read_bytes() == (
        b"bonjour"
    )
    names = [e.relpath for e in writer.reader.list_dir("Juliew")]
    assert "essai.txt" in names and "Julie.exe" in names
    assert not [n for n in names if n.endswith(".tmp")]


def test_it_runs_robocopy_as_a_task_with_our_engine_and_a_robocopy_log(server):
    state = server.state
    old, new = state.post("ancien-serveur"), transport(state, "nouveau-serveur")
    source = rf"\\{old['address']}\C$\partage\Juliew"
    handle = robocopy_job.start(
        new,
        source,
        r"C:\partage\Juliew",
        share_root=rf"\\{old['address']}\C$",
        username=old["username"],
        password=old["password"],
        exclude_files=[source + r"\Datas\server.register"],
    )
    result = robocopy_job.follow(new, handle, poll_seconds=0.1)
    assert result["success"] and result["summary"]["files"]["copied"] > 10, result["log"][-800:]
    assert result["summary"]["files"]["failed"] == 0
    assert "ROBOCOPY     ::     Robust File Copy for Windows" in result["log"]
    target = state.folder / "posts/nouveau-serveur/C/partage/Juliew"
    assert (target / "Datas").is_dir() and not (target / "Datas/server.register").exists()
    wrong = robocopy_job.start(
        new,
        source,
        r"C:\partage\Juliew",
        share_root=rf"\\{old['address']}\C$",
        username=old["username"],
        password="pas-le-bon",
    )
    refused = robocopy_job.follow(new, wrong, poll_seconds=0.1)
    assert not refused["success"] and refused["exit_code"] == 16
    assert "Access is denied." in refused["log"]
    assert old["password"] not in refused["log"] and old["password"] not in result["log"]
