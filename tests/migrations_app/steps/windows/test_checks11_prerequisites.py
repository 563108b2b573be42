"""Phase 2 checks that check (issue 11, part B): the firewall on the key host and the SMS host,
an unreadable quser, a disconnected Remote Desktop session, the real share list."""

import pytest

from julieops.windows import firewall, network
from migrations_app.models import AuditEvent, Machine

from .conftest import load, run_step, scripts

pytestmark = pytest.mark.django_db(transaction=True)


def by_label(run):
    return {i["label"]: i for i in run.result["items"]}


def test_it_opens_1947_on_the_key_host_and_the_services_ports_on_the_sms_host(job, alice, windows):
    key = Machine.objects.create(site=job.site, hostname="POSTE-CLE", roles=["key_host", "client"])
    sms = Machine.objects.create(site=job.site, hostname="POSTE-SMS", roles=["sms_host"])
    job.clients.add(key)
    job.extra_hosts.add(sms)
    added = {}

    def rules(host):
        def answer(params):
            if params["Apply"]:
                added[host] = params["Ports"]
                return load("firewall_ok.json")
            return {"Rules": []}

        return answer

    target = windows.serve(job.target, {firewall.SCRIPT: load("firewall_ok.json")})
    on_key = windows.serve(key, {firewall.SCRIPT: rules("key")})
    on_sms = windows.serve(sms, {firewall.SCRIPT: rules("sms")})
    client = job.clients.get(hostname="POSTE-ACCUEIL")
    run = run_step(job, "target.firewall", alice)
    assert run.status == "passed", (run.summary, run.result)
    assert scripts(target)[0][1]["Ports"] == [p for _n, p in firewall.PORTS]
    assert scripts(on_key)[0][1]["Ports"] == [1947]
    assert 9001 in scripts(on_sms)[0][1]["Ports"] and 1947 not in scripts(on_sms)[0][1]["Ports"]
    assert added == {"key": [1947], "sms": [p for _n, p in firewall.SERVICES_PORTS]}
    assert "POSTE-CLE — Port 1947 (Serveur de clé)" in by_label(run)
    assert "POSTE-SMS — Port 9001 (JulieOnlineService (SMS))" in by_label(run)
    assert client.hostname not in windows.endpoints  # a plain client needs no rule
    audited = sorted(
        e.data["machine"] for e in AuditEvent.objects.filter(action="target.firewall.apply")
    )
    assert audited == ["POSTE-CLE", "POSTE-SMS"]
    assert sorted(run.result["applied_on"]) == ["POSTE-CLE", "POSTE-SMS"]


def test_it_fails_the_firewall_when_the_key_host_cannot_be_reached(job, alice, windows):
    key = Machine.objects.create(site=job.site, hostname="POSTE-CLE", roles=["key_host"])
    job.extra_hosts.add(key)
    windows.serve(job.target, {firewall.SCRIPT: load("firewall_ok.json")})
    run = run_step(job, "target.firewall", alice)
    assert run.status == "failed"
    assert by_label(run)["POSTE-CLE — connexion"]["status"] == "fail"


def test_it_never_says_ok_when_quser_cannot_be_read_on_the_key_host(job, alice, windows):
    recorded = load("network_rdp_states.json")
    windows.serve(job.target, {network.SCRIPT: recorded["NOUVEAU-SRV-QUSER-ILLISIBLE"]})
    windows.serve(job.clients.get(), {network.SCRIPT: load("network_good.json")["SOINS1"]})
    run = run_step(job, "target.network", alice)
    line = by_label(run)["NOUVEAU-SERVEUR — bureau à distance"]
    assert line["status"] == "warn" and "à vérifier" in line["detail"]
    assert run.status == "warning", run.summary


def test_it_reports_a_disconnected_remote_desktop_session_on_the_key_host(job, alice, windows):
    recorded = load("network_rdp_states.json")
    windows.serve(job.target, {network.SCRIPT: recorded["NOUVEAU-SRV"]})
    windows.serve(job.clients.get(), {network.SCRIPT: load("network_good.json")["SOINS1"]})
    run = run_step(job, "target.network", alice)
    line = by_label(run)["NOUVEAU-SERVEUR — bureau à distance"]
    assert line["status"] == "warn" and "déconnectée (technicien)" in line["detail"]
    assert run.status == "warning"


def test_it_fails_a_share_of_datas_alone_and_changes_nothing(job, alice, windows):
    from julieops.windows import share

    endpoint = windows.serve(job.target, {share.SCRIPT: load("share_datas_only.json")})
    run = run_step(job, "target.share", alice)
    assert run.status == "failed"
    line = by_label(run)["Partage « partage »"]
    assert line["status"] == "fail" and "seulement « Datas »" in line["detail"]
    assert [p["Apply"] for _s, p in scripts(endpoint)] == [False]
    assert not AuditEvent.objects.filter(action="target.share.apply").exists()


def test_it_fails_a_share_of_juliew_beside_the_right_one(job, alice, windows):
    from julieops.windows import share

    endpoint = windows.serve(job.target, {share.SCRIPT: load("share_juliew_too.json")})
    run = run_step(job, "target.share", alice)
    assert run.status == "failed"
    line = by_label(run)["Partage « Juliew »"]
    assert line["status"] == "fail" and "pas Juliew" in line["detail"]
    assert by_label(run)["Partage « partage »"]["status"] == "ok"
    assert len(endpoint.commands) == 1


def test_it_passes_the_right_share_with_the_administrative_ones_beside_it(job, alice, windows):
    from julieops.windows import share

    windows.serve(job.target, {share.SCRIPT: load("share_fr_ok.json")})
    run = run_step(job, "target.share", alice)
    assert run.status == "passed", run.summary
