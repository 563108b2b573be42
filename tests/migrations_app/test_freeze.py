"""The cut-over as a sequence on WS-Management stand-ins: the freeze checks every post, then
stops the Julie services and makes the data share read-only on the old server and on the SMS
host (state recorded); retire_old disables the services on both (start type read back); the
unfreeze is a supervisor's decision, refused once the old hosts are retired."""

import copy
import json
from pathlib import Path

import pytest

from julieops.windows import freeze
from migrations_app import actions, cutover_window, status
from migrations_app.choices import MachineRole, Transport
from migrations_app.execution import runner
from migrations_app.models import AuditEvent, Machine, StepRun
from tests.conftest import client_for
from tests.support.wsman import WsmanEndpoint, powershell_reply

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "windows"
pytestmark = pytest.mark.django_db(transaction=True)


class WindowsHost:
    """One Windows machine's Julie-relevant state, changed by the scripts it receives and
    answered with the shapes Get-Service / Get-SmbShareAccess / Get-Process give through
    ConvertTo-Json."""

    def __init__(self, services, shares=(), processes=()):
        self.services = {s["Name"]: dict(s) for s in services}
        self.shares = copy.deepcopy(list(shares))
        self.processes = list(processes)

    def _services(self, with_start=False):
        keys = ("Name", "DisplayName", "Status") + (("StartType",) if with_start else ())
        return [{k: s[k] for k in keys} for s in self.services.values()]

    def respond(self, command):
        job = command.powershell_job()
        script, params = job["script"], job["params"]
        if script == freeze.OPEN_PROGRAMS:
            return powershell_reply({"Processes": self._processes(params["Processes"])})
        if script == freeze.FREEZE:
            shares_before, services_before = copy.deepcopy(self.shares), self._services()
            if params["Apply"]:
                for s in self.services.values():
                    s["Status"] = "Stopped"
                for share in self.shares:
                    for a in share["Access"]:
                        a["AccessRight"] = "Read"
            return powershell_reply(
                {
                    "SharesBefore": shares_before if params["DataPath"] else [],
                    "Shares": copy.deepcopy(self.shares) if params["DataPath"] else [],
                    "ServicesBefore": services_before,
                    "Services": self._services(),
                    "Processes": self._processes(params["Processes"]),
                }
            )
        if script == freeze.UNFREEZE:
            state = json.loads(params["StateJson"])
            for share in state["SharesBefore"] or []:
                mine = next(s for s in self.shares if s["Name"] == share["Name"])
                mine["Access"] = copy.deepcopy(share["Access"])
            for svc in state["ServicesBefore"] or []:
                mine = self.services[svc["Name"]]
                if svc["Status"] == "Running" and mine["StartType"] != "Disabled":
                    mine["Status"] = "Running"
            return powershell_reply(
                {
                    "Shares": copy.deepcopy(self.shares),
                    "Services": [
                        {"Name": s["Name"], "Status": self.services[s["Name"]]["Status"]}
                        for s in state["ServicesBefore"] or []
                    ],
                }
            )
        if script == freeze.RETIRE:
            before = self._services(with_start=True)
            if params["Apply"]:
                for s in self.services.values():
                    s["Status"], s["StartType"] = "Stopped", "Disabled"
            return powershell_reply(
                {"ServicesBefore": before, "Services": self._services(with_start=True)}
            )
        raise AssertionError(f"unexpected script: {script[:80]}")

    def _processes(self, names):
        return [{"Name": n, "Id": 4000 + i} for i, n in enumerate(self.processes) if n in names]


def old_server():
    state = json.loads((FIXTURES / "freeze_applied.json").read_text(encoding="utf-8"))
    services = [{**s, "StartType": "Automatic"} for s in state["ServicesBefore"]]
    return WindowsHost(services, state["SharesBefore"])


def sms_host():
    return WindowsHost(
        [
            {
                "Name": "JulieOnlineService",
                "DisplayName": "Julie Online Service (SMS)",
                "Status": "Running",
                "StartType": "Automatic",
            }
        ]
    )


@pytest.fixture
def stand_ins(job, practice, alice, monkeypatch):
    """The old server, a secondary SMS host and the reception post, each a WS-Management
    endpoint of its own; the inventory steps the freeze depends on are done."""
    sms = Machine.objects.create(
        site=practice.site, hostname="POSTE-SMS", transport=Transport.WINRM,
        roles=[MachineRole.SMS_HOST],
    )  # fmt: skip
    job.extra_hosts.add(sms)
    hosts = {
        "ANCIEN-SERVEUR": old_server(),
        "POSTE-SMS": sms_host(),
        "POSTE-ACCUEIL": WindowsHost([]),
    }
    endpoints = {name: WsmanEndpoint(host.respond) for name, host in hosts.items()}
    for endpoint in endpoints.values():
        endpoint.__enter__()
    Machine.objects.filter(hostname__in=["ANCIEN-SERVEUR", "POSTE-ACCUEIL"]).update(
        transport=Transport.WINRM
    )
    monkeypatch.setattr(
        "migrations_app.steps.common.transport_for",
        lambda machine, on_secret=None: endpoints[machine.hostname].transport(),
    )
    job.discovered_paths = {"julie_root": "partage/Juliew", "imaging_roots": []}
    job.save()
    for key in ("source.locate", "source.server_register"):
        status.finish_step_by_hand(job.steps.get(key=key), alice, "done", "relevé")
    yield hosts, endpoints
    for endpoint in endpoints.values():
        endpoint.__exit__(None, None, None)


def run_latest(job, key):
    run = StepRun.objects.filter(step__job=job, step__key=key).latest("pk")
    runner.execute(run.pk, "test")
    run.refresh_from_db()
    return run


def test_the_cut_over_freezes_retires_and_then_refuses_to_unfreeze(job, alice, bob, stand_ins):
    hosts, endpoints = stand_ins
    client = client_for(alice)
    assert client.post(f"/jobs/{job.pk}/tools/freeze/").status_code == 302
    frozen = run_latest(job, "cutover.freeze")
    assert frozen.status == "passed", frozen.summary
    # Every post was asked about Julie first; then both old hosts were frozen.
    sent = {
        name: [c.powershell_job()["script"] for c in e.commands] for name, e in endpoints.items()
    }
    assert sent["POSTE-ACCUEIL"] == [freeze.OPEN_PROGRAMS]
    assert sent["ANCIEN-SERVEUR"] == [freeze.OPEN_PROGRAMS, freeze.FREEZE]
    assert sent["POSTE-SMS"] == [freeze.OPEN_PROGRAMS, freeze.FREEZE]
    params = endpoints["ANCIEN-SERVEUR"].commands[1].powershell_job()["params"]
    assert params["DataPath"] == "C:\\partage\\Juliew" and params["Apply"] is True
    assert endpoints["POSTE-SMS"].commands[1].powershell_job()["params"]["DataPath"] == ""
    assert hosts["POSTE-SMS"].services["JulieOnlineService"]["Status"] == "Stopped"
    assert {a["AccessRight"] for a in hosts["ANCIEN-SERVEUR"].shares[0]["Access"]} == {"Read"}
    state = frozen.result["state"]["hosts"]
    assert state["POSTE-SMS"]["ServicesBefore"][0]["Status"] == "Running"
    event = AuditEvent.objects.get(action="source.freeze")
    assert event.category == "data" and event.actor_name == "alice"
    assert (
        event.data["ANCIEN-SERVEUR"]["before"]["SharesBefore"][0]["Access"][0]["AccessRight"]
        == "Full"
    )

    # Unfreezing is a supervisor's decision with a reason.
    page = client_for(bob).get(f"/jobs/{job.pk}/?step=cutover.freeze").content.decode()
    assert "Dégeler l'ancien serveur" in page
    assert client.post(f"/jobs/{job.pk}/tools/unfreeze/", {"note": "reporté"}).status_code == 403
    assert client_for(bob).post(f"/jobs/{job.pk}/tools/unfreeze/").status_code == 400

    # The data steps done, retire_old disables the services on both old hosts, read back.
    for key in retire_dependencies(job):
        status.finish_step_by_hand(job.steps.get(key=key), alice, "done", "fait")
    retire = job.steps.get(key="cutover.retire_old")
    actions.start_run(retire, alice)
    retired = run_latest(job, "cutover.retire_old")
    assert retired.status == "passed", retired.summary
    for name in ("ANCIEN-SERVEUR", "POSTE-SMS"):
        assert {s["StartType"] for s in hosts[name].services.values()} == {"Disabled"}
    assert "POSTE-SMS : service Julie Online Service (SMS)" in {
        i["label"] for i in retired.result["items"]
    }
    assert AuditEvent.objects.get(action="cutover.retire_old").category == "sms"

    response = client_for(bob).post(f"/jobs/{job.pk}/tools/unfreeze/", {"note": "bascule reportée"})
    assert response.status_code == 409 and "le dégel est refusé" in response.content.decode()
    assert not StepRun.objects.filter(step__key="cutover.unfreeze").exists()
    assert hosts["POSTE-SMS"].services["JulieOnlineService"]["Status"] == "Stopped"


def retire_dependencies(job):
    return [d for d in job.steps.get(key="cutover.retire_old").definition.depends_on]


def test_a_supervisor_unfreezes_every_frozen_host_before_the_retirement(job, alice, bob, stand_ins):
    hosts, endpoints = stand_ins
    client_for(alice).post(f"/jobs/{job.pk}/tools/freeze/")
    assert run_latest(job, "cutover.freeze").status == "passed"
    response = client_for(bob).post(f"/jobs/{job.pk}/tools/unfreeze/", {"note": "bascule reportée"})
    assert response.status_code == 302
    thawed = run_latest(job, "cutover.unfreeze")
    assert thawed.status == "passed", thawed.summary
    sent = json.loads(endpoints["POSTE-SMS"].commands[-1].powershell_job()["params"]["StateJson"])
    assert sent["ServicesBefore"][0]["Name"] == "JulieOnlineService"
    assert hosts["POSTE-SMS"].services["JulieOnlineService"]["Status"] == "Running"
    assert {a["AccessRight"] for a in hosts["ANCIEN-SERVEUR"].shares[0]["Access"]} == {"Full"}
    event = AuditEvent.objects.get(action="source.unfreeze")
    assert event.actor_name == "bob"
    assert AuditEvent.objects.filter(
        action="step.run", target="cutover.unfreeze", reason="bascule reportée"
    ).exists()


def test_the_freeze_changes_nothing_and_names_the_post_where_julie_is_open(job, alice, stand_ins):
    hosts, endpoints = stand_ins
    hosts["POSTE-ACCUEIL"].processes = ["Julie"]
    client_for(alice).post(f"/jobs/{job.pk}/tools/freeze/")
    run = run_latest(job, "cutover.freeze")
    assert run.status == "failed" and "POSTE-ACCUEIL" in run.summary
    assert all(
        c.powershell_job()["script"] == freeze.OPEN_PROGRAMS
        for e in endpoints.values()
        for c in e.commands
    )
    assert hosts["POSTE-SMS"].services["JulieOnlineService"]["Status"] == "Running"


def test_it_says_to_do_it_by_hand_on_a_local_machine(job, alice):
    job.discovered_paths = {"julie_root": "partage/Juliew"}
    job.save()
    for key in ("source.locate", "source.server_register"):
        status.finish_step_by_hand(job.steps.get(key=key), alice, "done", "relevé")
    client_for(alice).post(f"/jobs/{job.pk}/tools/freeze/")
    run = run_latest(job, "cutover.freeze")
    assert run.status == "failed" and "à faire à la main" in run.summary


def test_it_refuses_to_unfreeze_what_was_never_frozen(job, bob, stand_ins):
    response = client_for(bob).post(f"/jobs/{job.pk}/tools/unfreeze/", {"note": "essai"})
    assert response.status_code == 409
    assert "Geler l&#x27;ancien serveur" in response.content.decode()
    assert not StepRun.objects.filter(step__key="cutover.unfreeze").exists()


def test_it_refuses_unknown_tools_and_auditors(job, carol, alice):
    assert client_for(alice).post(f"/jobs/{job.pk}/tools/explode/").status_code == 404
    assert client_for(carol).post(f"/jobs/{job.pk}/tools/freeze/").status_code == 403
    # cutover.freeze is a catalogue step now: the refused action started no run of it.
    assert not StepRun.objects.filter(step__job=job, step__key="cutover.freeze").exists()


def test_retire_old_says_to_do_it_by_hand_on_local_machines(job, alice):
    for key in retire_dependencies(job):
        status.finish_step_by_hand(job.steps.get(key=key), alice, "done", "fait")
    actions.start_run(job.steps.get(key="cutover.retire_old"), alice)
    run = run_latest(job, "cutover.retire_old")
    assert run.status == "failed" and "à faire à la main" in run.summary
    assert "Désactivé" in run.summary
    assert job.steps.get(key="cutover.retire_old").status == "failed"  # never a fake success


def test_a_freeze_run_again_ends_the_final_pass_made_after_the_first(job, alice, bob, stand_ins):
    client = client_for(alice)
    client.post(f"/jobs/{job.pk}/tools/freeze/")
    assert run_latest(job, "cutover.freeze").status == "passed"
    for key in ("data.mirror", "data.server_register"):
        status.finish_step_by_hand(job.steps.get(key=key), alice, "done", "passe finale")
    assert (
        client_for(bob)
        .post(f"/jobs/{job.pk}/tools/unfreeze/", {"note": "bascule reportée"})
        .status_code
        == 302
    )
    assert run_latest(job, "cutover.unfreeze").status == "passed"
    assert job.steps.get(key="data.mirror").status == "todo"
    assert cutover_window.for_job(job)["frozen_at"] is None
    event = AuditEvent.objects.get(action="cutover.restarted", target="cutover.unfreeze")
    assert event.actor_name == "bob" and event.data["reset"] == [
        "data.mirror",
        "data.server_register",
    ]
    status.finish_step_by_hand(job.steps.get(key="data.mirror"), alice, "done", "passe finale")
    client.post(f"/jobs/{job.pk}/tools/freeze/")
    refrozen = run_latest(job, "cutover.freeze")
    assert refrozen.status == "passed"
    assert cutover_window.for_job(job)["frozen_at"] == refrozen.finished_at
    step = job.steps.get(key="data.mirror")
    assert step.status == "todo" and "Ne compte plus" in step.summary
    assert AuditEvent.objects.filter(action="cutover.restarted", target="cutover.freeze").exists()


def test_retire_old_refuses_when_the_old_share_is_writable_again(job, alice, stand_ins):
    hosts, endpoints = stand_ins
    client_for(alice).post(f"/jobs/{job.pk}/tools/freeze/")
    assert run_latest(job, "cutover.freeze").status == "passed"
    # Someone gave the practice write access back on the old share after the freeze.
    share = hosts["ANCIEN-SERVEUR"].shares[0]
    share["Access"][0]["AccessRight"] = "Full"
    for key in retire_dependencies(job):
        status.finish_step_by_hand(job.steps.get(key=key), alice, "done", "fait")
    actions.start_run(job.steps.get(key="cutover.retire_old"), alice)
    refused = run_latest(job, "cutover.retire_old")
    assert refused.status == "failed"
    assert "aucun service n'a été désactivé" in refused.summary
    assert f"partage « {share['Name']} »" in refused.summary
    assert "de nouveau modifiable" in refused.summary and "lecture seule" in refused.summary
    # Read back without changing anything: FREEZE without Apply, and no RETIRE sent anywhere.
    last = endpoints["ANCIEN-SERVEUR"].commands[-1].powershell_job()
    assert last["script"] == freeze.FREEZE and last["params"]["Apply"] is False
    assert last["params"]["DataPath"] == "C:\\partage\\Juliew"
    sent = [c.powershell_job()["script"] for e in endpoints.values() for c in e.commands]
    assert freeze.RETIRE not in sent
    event = AuditEvent.objects.get(action="cutover.retire_old.refused")
    assert event.category == "sms" and event.actor_name == "alice"
    for name in ("ANCIEN-SERVEUR", "POSTE-SMS"):
        assert {s["StartType"] for s in hosts[name].services.values()} == {"Automatic"}
    # Read-only again: the retirement goes ahead.
    share["Access"][0]["AccessRight"] = "Read"
    actions.start_run(job.steps.get(key="cutover.retire_old"), alice)
    retired = run_latest(job, "cutover.retire_old")
    assert retired.status == "passed", retired.summary
    labels = {i["label"]: i for i in retired.result["items"]}
    assert labels[f"ANCIEN-SERVEUR : partage « {share['Name']} »"]["status"] == "ok"
    assert {s["StartType"] for s in hosts["POSTE-SMS"].services.values()} == {"Disabled"}


def test_a_post_out_of_reach_fails_the_freeze_until_a_person_confirms_it_closed(
    job, alice, carol, stand_ins
):
    from migrations_app.steps.cutover import CONFIRMED_KEY

    hosts, endpoints = stand_ins
    endpoints["POSTE-ACCUEIL"].__exit__(None, None, None)  # switched off: nothing answers
    client = client_for(alice)
    client.post(f"/jobs/{job.pk}/tools/freeze/")
    refused = run_latest(job, "cutover.freeze")
    assert refused.status == "failed"
    assert "rien n'a été changé" in refused.summary and "POSTE-ACCUEIL" in refused.summary
    assert "Julie fermé non prouvé" in refused.summary
    line = {i["label"]: i for i in refused.result["items"]}["POSTE-ACCUEIL : programmes"]
    assert line["status"] == "fail" and "Confirmer un poste fermé" in line["detail"]
    assert hosts["POSTE-SMS"].services["JulieOnlineService"]["Status"] == "Running"

    # A confirmation needs a reason and a post of the job; it is audited.
    url = f"/jobs/{job.pk}/freeze/confirm/"
    assert client.post(url, {"post": "POSTE-ACCUEIL", "reason": " "}).status_code == 400
    assert client.post(url, {"post": "AUTRE-CABINET", "reason": "x"}).status_code == 400
    assert client_for(carol).post(url, {"post": "POSTE-ACCUEIL", "reason": "x"}).status_code == 403
    reason = "Poste de l'accueil éteint, vu sur place par la secrétaire"
    assert client.post(url, {"post": "POSTE-ACCUEIL", "reason": reason}).status_code == 302
    event = AuditEvent.objects.get(action="cutover.post_confirmed_closed")
    assert event.actor == alice and event.target == "POSTE-ACCUEIL" and event.reason == reason
    page = client.get(f"/jobs/{job.pk}/?step=cutover.freeze").content.decode()
    assert "confirmé par alice" in page

    client.post(f"/jobs/{job.pk}/tools/freeze/")
    frozen = run_latest(job, "cutover.freeze")
    assert frozen.status == "warning", frozen.summary
    line = {i["label"]: i for i in frozen.result["items"]}["POSTE-ACCUEIL : programmes"]
    assert line["status"] == "warn" and "confirmé par alice" in line["detail"]
    assert hosts["POSTE-SMS"].services["JulieOnlineService"]["Status"] == "Stopped"
    freeze_event = AuditEvent.objects.get(action="source.freeze")
    assert freeze_event.data["posts_confirmed_closed"]["POSTE-ACCUEIL"]["reason"] == reason
    # Used up by that freeze: the next one needs a new look at the post.
    job.refresh_from_db()
    assert job.options[CONFIRMED_KEY]["POSTE-ACCUEIL"]["used_by_run"] == frozen.pk
    client.post(f"/jobs/{job.pk}/tools/freeze/")
    assert run_latest(job, "cutover.freeze").status == "failed"
