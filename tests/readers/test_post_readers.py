"""The `post.readers` step run by the real runner: latest report of each post, galss.ini and
C:\\Windows\\ga* read through the machine's transport, the cabinets' CPS readers."""

import json

import pytest

from migrations_app.choices import Transport
from migrations_app.execution import runner
from migrations_app.models import Cabinet, Evidence, JobStep, LogLine, StepRun
from readers.models import AgentToken, ReaderReport
from tests.readers.conftest import CPS3, PSS_COM12, READER_A, READER_B, VITALE_2, a_report

pytestmark = pytest.mark.django_db(transaction=True)


def send(machine, report):
    token, _value = AgentToken.issue(machine)
    return ReaderReport.record(token, json.loads(json.dumps(report)))


def run_step(job, alice):
    step = job.steps.get(key="post.readers")
    run = StepRun.objects.create(step=step, requested_by=alice, queue="test")
    runner.execute(run.pk, "test")
    run.refresh_from_db()
    return run


def items_by(run, machine=None):
    return {
        i["code"]: i
        for i in run.result["items"]
        if machine is None or i["machine"] == machine.hostname
    }


def test_it_passes_a_good_pcsc_practice(job, alice, practice):
    Cabinet.objects.create(customer=job.customer, name="Dr Martin", cps_reader=READER_B)
    send(job.target, a_report(job.target.hostname))
    send(practice.client, a_report(practice.client.hostname))

    run = run_step(job, alice)

    assert run.status == "passed", (run.summary, run.result)
    target = items_by(run, job.target)
    assert target["report"]["status"] == "ok"
    assert "galss.ini et ga* lus dans" in target["report"]["detail"]
    assert target["galss_leftovers"]["status"] == "ok"
    assert target["vitale_reader"]["detail"] == f"Carte lue dans : {READER_A}."
    assert target["cps_reader"]["detail"] == f"Carte lue dans : {READER_B}."
    cabinet = items_by(run)["cabinet_cps_reader"]
    assert cabinet["status"] == "ok" and cabinet["label"] == "Lecteur CPS du cabinet Dr Martin"
    assert cabinet["detail"] == f"Sur NOUVEAU-SERVEUR : « {READER_B} » contient une CPS."
    machines = {m["machine"]: m for m in run.result["machines"]}
    assert [r["card"] for r in machines["NOUVEAU-SERVEUR"]["readers"]] == ["vitale", "cps"]
    assert run.summary.startswith("2 poste(s) : 2 rapport(s) analysé(s), 0 poste(s) non prêt(s)")
    step = JobStep.objects.get(pk=run.step_id)
    assert step.status == "passed"
    kept = Evidence.objects.filter(run=run, kind="readers_report")
    assert sorted(e.name for e in kept) == [
        "lecteurs-NOUVEAU-SERVEUR.json",
        "lecteurs-POSTE-ACCUEIL.json",
    ]


def test_it_fails_on_galss_leftovers_read_on_the_machine(job, alice, practice):
    # The agent saw nothing, but the files are there now: what the transport reads counts.
    windows = practice.paths["nouveau-serveur"] / "Windows"
    (windows / "GALSVW32.EXE").write_bytes(b"MZ")
    (windows / "galss.ini").write_bytes(b"[CONFIG]\r\nNbCanaux=0\r\n")
    send(job.target, a_report(job.target.hostname, ga_files=[]))
    send(practice.client, a_report(practice.client.hostname))

    run = run_step(job, alice)

    assert run.status == "failed"
    leftovers = items_by(run, job.target)["galss_leftovers"]
    assert leftovers["status"] == "fail"
    assert "GALSVW32.EXE, galss.ini" in leftovers["detail"]
    assert "jamais sans confirmation" in leftovers["detail"]
    [action] = run.result["actions"]
    assert action["machine"] == "NOUVEAU-SERVEUR"
    assert action["code"] == "remove_galss_leftovers"
    assert action["files"] == ["GALSVW32.EXE", "galss.ini"]
    assert (windows / "GALSVW32.EXE").exists()  # listed, never removed by the check
    assert items_by(run, practice.client)["galss_leftovers"]["status"] == "ok"
    assert Evidence.objects.filter(run=run, name="galss-NOUVEAU-SERVEUR.ini").exists()


def test_it_fails_with_a_single_reader(job, alice, practice):
    Cabinet.objects.create(customer=job.customer, name="Dr Martin", cps_reader=READER_B)
    send(job.target, a_report(job.target.hostname, readers=[(READER_A, CPS3)]))
    send(practice.client, a_report(practice.client.hostname, readers=[(READER_A, VITALE_2)]))

    run = run_step(job, alice)

    assert run.status == "failed"
    target = items_by(run, job.target)
    assert target["pcsc_reader_count"]["status"] == "fail"
    assert target["pcsc_reader_count"]["detail"].startswith("1 lecteur(s)")
    assert target["vitale_reader"]["status"] == "fail"
    assert target["cps_reader"]["status"] == "ok"
    cabinet = items_by(run)["cabinet_cps_reader"]
    assert cabinet["status"] == "fail"
    assert f"« {READER_B} » n'est prêt sur aucun des postes analysés" in cabinet["detail"]
    assert "À corriger" in run.summary


def test_it_fails_a_pss_reader_on_com12_from_the_report_when_files_cannot_be_read(
    job, alice, practice
):
    target = job.target
    target.transport = Transport.WINRM  # no remote reading yet: the report's files are used
    target.save()
    send(target, a_report(target.hostname, readers=[], galss_ini=PSS_COM12, galss_installed=True))
    send(practice.client, a_report(practice.client.hostname))

    run = run_step(job, alice)

    assert run.status == "failed"
    items = items_by(run, target)
    assert "Fichiers non lus sur le poste" in items["report"]["detail"]
    com = items["pss_com_ports"]
    assert com["status"] == "fail" and "canal 2 sur COM12" in com["detail"]
    assert "galss_leftovers" not in items  # PSS mode: GALSS stays
    machines = {m["machine"]: m for m in run.result["machines"]}
    assert machines["NOUVEAU-SERVEUR"]["mode"] == "pss"
    logs = LogLine.objects.filter(run=run).values_list("text", flat=True)
    assert any("Fichiers non lus sur le poste" in t for t in logs)


def test_it_fails_without_any_report(job, alice):
    run = run_step(job, alice)

    assert run.status == "failed"
    items = run.result["items"]
    assert [(i["machine"], i["code"], i["status"]) for i in items] == [
        ("NOUVEAU-SERVEUR", "report", "fail"),
        ("POSTE-ACCUEIL", "report", "fail"),
        ("", "no_report", "fail"),
    ]
    assert run.summary.startswith("2 poste(s) : 0 rapport(s) analysé(s)")
    assert "2 sans rapport" in run.summary


def test_it_fails_a_post_without_report_and_warns_on_a_report_from_another_name(job, alice):
    send(job.target, a_report("AUTRE-PC"))

    run = run_step(job, alice)

    assert run.status == "failed", run.result
    server = items_by(run, job.target)["report"]
    assert server["status"] == "warn" and "vient du poste « AUTRE-PC »" in server["detail"]
    missing = items_by(run, job.clients.get())["report"]
    assert missing["status"] == "fail" and "ne sont pas vérifiés" in missing["detail"]
