"""Phase 2 steps through the real pywinrm protocol against recorded Windows answers."""

import pytest

from julieops.windows import antivirus, firewall, inventory, network, share
from migrations_app.models import AuditEvent, Evidence, Machine

from .conftest import PASSWORD, load, run_step, scripts

pytestmark = pytest.mark.django_db(transaction=True)


def by_label(run):
    return {i["label"]: i for i in run.result["items"]}


def test_it_fails_the_network_on_an_rdp_session_on_the_key_host_and_another_workgroup(
    job, alice, windows
):
    recorded = load("network_bad.json")
    soins = Machine.objects.create(site=job.site, hostname="SOINS1", roles=["client"])
    accueil = job.clients.get()
    job.clients.add(soins)
    target = windows.serve(job.target, {network.SCRIPT: recorded["NOUVEAU-SRV"]})
    client = windows.serve(accueil, {network.SCRIPT: recorded["ACCUEIL"]})
    windows.serve(soins, {network.SCRIPT: recorded["SOINS1"]})
    run = run_step(job, "target.network", alice)
    assert run.status == "failed", (run.summary, run.error)
    items = by_label(run)
    rdp = items["NOUVEAU-SERVEUR — bureau à distance"]
    assert rdp["status"] == "fail" and "secretariat" in rdp["detail"]
    assert items["POSTE-ACCUEIL — groupe de travail / domaine"]["status"] == "fail"
    assert items["SOINS1 — groupe de travail / domaine"]["status"] == "ok"
    assert items["POSTE-ACCUEIL — NetBIOS sur Intel(R) Wi-Fi 6 AX201 160MHz"]["status"] == "fail"
    assert items["POSTE-ACCUEIL — liaison Wi-Fi"]["status"] == "warn"
    assert "bureau à distance" in run.summary
    for endpoint in (target, client):
        assert scripts(endpoint) == [(network.SCRIPT, {})]
    assert PASSWORD.encode() not in windows.bodies()
    assert Evidence.objects.filter(run=run, kind="windows-check").count() == 1


def test_it_passes_a_good_network(job, alice, windows):
    recorded = load("network_good.json")
    windows.serve(job.target, {network.SCRIPT: recorded["NOUVEAU-SRV"]})
    windows.serve(job.clients.get(), {network.SCRIPT: recorded["SOINS1"]})
    run = run_step(job, "target.network", alice)
    assert run.status == "passed", run.summary
    assert run.summary.startswith("Réseau : ")


def test_it_reports_weak_hardware_per_post(job, alice, windows):
    recorded = load("inventory_fr.json")
    windows.serve(job.target, {inventory.SCRIPT: recorded["NOUVEAU-SRV"]})
    windows.serve(job.clients.get(), {inventory.SCRIPT: recorded["ACCUEIL"]})
    run = run_step(job, "target.hardware", alice)
    items = by_label(run)
    assert items["NOUVEAU-SERVEUR — mémoire"]["status"] == "ok"
    assert items["POSTE-ACCUEIL — processeur"]["status"] == "warn"
    assert items["POSTE-ACCUEIL — mémoire"]["status"] == "ok"  # "4 Go" reported a bit short
    assert items["POSTE-ACCUEIL — carte réseau"]["status"] == "warn"
    assert run.status == "warning", run.summary


def test_it_adds_a_missing_firewall_port_once_and_audits_it(job, alice, windows):
    def rules(params):
        return load("firewall_ok.json" if params["Apply"] else "firewall_missing_8080.json")

    endpoint = windows.serve(job.target, {firewall.SCRIPT: rules})
    run = run_step(job, "target.firewall", alice)
    assert run.status == "passed", (run.summary, run.error)
    sent = scripts(endpoint)
    assert [params["Apply"] for _script, params in sent] == [False, True]
    assert sent[0][1]["Ports"] == [port for _name, port in firewall.PORTS]
    assert sent[0][1]["JulieExe"] == r"C:\Juliew\Julie.exe"
    event = AuditEvent.objects.get(action="target.firewall.apply")
    assert event.category == "config" and event.data["added"] == ["Port 8080 (JulieView)"]
    assert run.result["applied"] is True


def test_it_only_reports_a_missing_port_in_a_dry_run(job, alice, windows):
    endpoint = windows.serve(job.target, {firewall.SCRIPT: load("firewall_missing_8080.json")})
    run = run_step(job, "target.firewall", alice, dry_run=True)
    assert run.status == "failed"
    assert by_label(run)["Port 8080 (JulieView)"]["status"] == "fail"
    assert [params["Apply"] for _script, params in scripts(endpoint)] == [False]
    assert not AuditEvent.objects.filter(action="target.firewall.apply").exists()


def test_it_changes_nothing_when_the_firewall_is_complete(job, alice, windows):
    endpoint = windows.serve(job.target, {firewall.SCRIPT: load("firewall_ok.json")})
    run = run_step(job, "target.firewall", alice)
    assert run.status == "passed"
    assert len(endpoint.commands) == 1


def test_it_refuses_a_data_path_with_spaces_without_touching_the_server(job, alice, windows):
    job.options = {"share_path": r"C:\Mes Donnees\partage"}
    job.save()
    endpoint = windows.serve(
        job.target, {share.SCRIPT: {**load("share_fr_ok.json"), "Share": None}}
    )
    run = run_step(job, "target.share", alice)
    assert run.status == "failed"
    assert "espaces" in by_label(run)["Chemin des données"]["detail"]
    sent = scripts(endpoint)
    assert [params["Apply"] for _script, params in sent] == [False]
    # The path travels as a parameter, never pasted into the script text.
    assert sent[0][0] == share.SCRIPT and sent[0][1]["Path"] == r"C:\Mes Donnees\partage"
    assert not AuditEvent.objects.filter(action="target.share.apply").exists()


def test_it_refuses_data_on_a_nas(job, alice, windows):
    job.options = {"share_path": r"Z:\partage"}
    job.save()
    endpoint = windows.serve(job.target, {share.SCRIPT: load("share_nas.json")})
    run = run_step(job, "target.share", alice)
    assert run.status == "failed"
    assert "NAS" in by_label(run)["Chemin des données"]["detail"]
    assert len(endpoint.commands) == 1


def test_it_creates_the_share_when_missing(job, alice, windows):
    good = load("share_fr_ok.json")
    missing = {**good, "Share": None, "ShareAccess": [], "Acl": good["Acl"][1:]}
    endpoint = windows.serve(
        job.target, {share.SCRIPT: lambda params: good if params["Apply"] else missing}
    )
    run = run_step(job, "target.share", alice)
    assert run.status == "passed", run.summary
    assert [p["Apply"] for _s, p in scripts(endpoint)] == [False, True]
    assert scripts(endpoint)[1][1] == {"Path": r"C:\partage", "Name": "partage", "Apply": True}
    assert AuditEvent.objects.get(action="target.share.apply").category == "config"


def test_it_adds_only_the_missing_defender_exclusions(job, alice, windows):
    partial = load("defender_partial.json")
    expected = antivirus.expected_exclusions()
    complete = {k: expected[k] for k in ("ExclusionPath", "ExclusionProcess")}
    endpoint = windows.serve(
        job.target, {antivirus.SCRIPT: lambda params: complete if params["Apply"] else partial}
    )
    run = run_step(job, "target.antivirus", alice)
    assert run.status == "passed", run.summary
    applied = scripts(endpoint)[1][1]
    assert applied["Processes"] == [
        r"C:\Juliew\pyxvital\pyxvital.exe",
        r"C:\Juliew\pyxvital\pyxrss.exe",
        r"C:\Juliew\pyxvital\pyxnet.exe",
    ]
    assert applied["Paths"] == [r"C:\partage\Juliew\pyxvital"]


def test_it_fails_on_the_demo_machines_asking_for_a_check_by_hand(job, alice):
    run = run_step(job, "target.firewall", alice)
    assert run.status == "failed"
    assert "à vérifier à la main sur NOUVEAU-SERVEUR" in run.summary
    network_run = run_step(job, "target.network", alice)
    assert network_run.status == "failed"
    assert "POSTE-ACCUEIL" in network_run.summary and "à la main" in network_run.summary


def test_it_reports_compatibility_mode_and_removes_it_only_when_asked(job, alice, windows):
    from julieops.windows import admin_rights
    from tests.migrations_app.steps.windows.test_install_and_clients import send_session

    def layers(params):
        return {"HKCU": None, "HKLM": "~ RUNASADMIN" if params["Fix"] else "~ RUNASADMIN WIN7RTM"}

    endpoint = windows.serve(job.target, {admin_rights.SCRIPT: layers})
    client = job.clients.get()
    windows.serve(client, {admin_rights.SCRIPT: {"HKCU": "~ WINXPSP3", "HKLM": "~ RUNASADMIN"}})
    # The users' own flags come from the agent run in their session (WinRM's HKCU is its own).
    own = [{"hive": "HKCU", "program": r"C:\Juliew\Julie.exe", "flags": "~ RUNASADMIN"}]
    send_session(job.target, [], layers=own)
    send_session(client, [], layers=own)
    run = run_step(job, "target.admin_rights", alice)
    assert run.status == "failed"
    assert by_label(run)["NOUVEAU-SERVEUR — mode de compatibilité"]["status"] == "fail"
    assert by_label(run)["POSTE-ACCUEIL — mode de compatibilité"]["status"] == "ok"
    assert run.result["fix_available"] is True
    assert not AuditEvent.objects.filter(action="target.admin_rights.fix").exists()
    fixed = run_step(job, "target.admin_rights", alice, apply=True)
    assert fixed.status == "passed", fixed.summary
    assert [p["Fix"] for _s, p in scripts(endpoint)] == [False, True]
    assert scripts(endpoint)[1][1]["JulieExe"] == r"C:\Juliew\Julie.exe"
    assert AuditEvent.objects.get(action="target.admin_rights.fix").category == "config"


def test_it_says_to_check_the_users_own_flags_without_a_session_report(job, alice, windows):
    from julieops.windows import admin_rights

    ok = {"HKCU": None, "HKLM": "~ RUNASADMIN"}
    windows.serve(job.target, {admin_rights.SCRIPT: ok})
    windows.serve(job.clients.get(), {admin_rights.SCRIPT: ok})
    run = run_step(job, "target.admin_rights", alice)
    assert run.status == "warning"
    line = by_label(run)["POSTE-ACCUEIL — réglages de l'utilisateur"]
    assert line["status"] == "warn" and "à vérifier" in line["detail"]
