"""Phase 1 steps on generated trees: each problem code when it should, never otherwise."""

import hashlib
import json

import pytest

from migrations_app.models import AuditEvent, Evidence
from tests.migrations_app.steps.fse.conftest import JULIE, codes, run_step

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_reads_server_register_and_keeps_its_copy_as_evidence(make_practice, alice):
    p = make_practice()
    run = run_step(p, "source.server_register", alice)
    assert run.status == "passed", run.summary
    raw = (p.source_root / JULIE / "Datas/server.register").read_bytes()
    evidence = Evidence.objects.get(pk=run.result["evidence"]["id"])
    assert evidence.file.read() == raw and evidence.sha256 == hashlib.sha256(raw).hexdigest()
    p.job.refresh_from_db()
    assert p.job.discovered_paths["sms_host"] == "ancien-serveur"
    assert codes(run) == set()


def test_it_blocks_on_an_sms_host_outside_the_job_until_it_is_added(make_practice, alice):
    p = make_practice(sms_host="POSTE-SMS")
    run = run_step(p, "source.server_register", alice)
    assert run.status == "failed" and codes(run) == {"sms_host_not_in_job"}
    assert "poste-sms" in run.summary and "ajoutez" in run.summary
    services = run_step(p, "source.services_data", alice)
    assert services.status == "failed"
    assert "sms_host_not_provided" in services.result["problems"]
    blocked = run_step(p, "data.services", alice)
    assert blocked.status == "failed" and "absent(s) de la migration" in blocked.summary

    p.add_sms_host("poste-sms")  # a different letter case still matches
    run = run_step(p, "source.server_register", alice)
    assert run.status == "warning" and codes(run) == {"sms_on_secondary_host"}
    services = run_step(p, "source.services_data", alice)
    assert services.status == "passed", services.summary
    assert "sms_host_not_provided" not in services.result["problems"]
    labels = [i["label"] for i in services.result["items"]]
    assert "poste-sms : Sms.db" in labels


def test_it_reports_a_stale_sms_db_only_when_it_is_stale(make_practice, alice):
    fresh = run_step(make_practice(), "source.services_data", alice)
    assert fresh.status == "passed" and fresh.result["problems"] == []
    event = AuditEvent.objects.filter(action="sms.snapshot").last()
    assert event.category == "sms" and event.data["sms_db_stale"] is False


def test_it_reports_a_stale_sms_db(make_practice, alice):
    run = run_step(make_practice(sms_db_stale=True), "source.services_data", alice)
    assert run.status == "warning" and run.result["problems"] == ["sms_db_stale"]


def test_it_reports_a_corrupt_services_database(make_practice, alice):
    run = run_step(make_practice(corrupt_db="messenger.db"), "source.services_data", alice)
    assert run.status == "failed" and run.result["problems"] == ["services_db_corrupt"]
    bad = [i for i in run.result["items"] if i["status"] == "fail" and "messenger" in i["label"]]
    assert bad


def test_it_reports_a_missing_server_register(make_practice, alice):
    p = make_practice(server_register=False)
    run = run_step(p, "source.server_register", alice)
    assert run.status == "warning" and codes(run) == {"server_register_missing"}


def test_it_snapshots_pxdatas_with_a_manifest_matching_the_files(make_practice, alice):
    p = make_practice(pending_fse=4)
    run = run_step(p, "source.pxdatas_snapshot", alice)
    assert run.status == "passed"
    evidence = Evidence.objects.get(pk=run.result["evidence"]["id"])
    content = evidence.file.read()
    assert hashlib.sha256(content).hexdigest() == evidence.sha256 and evidence.size == len(content)
    document = json.loads(content)
    px = p.source_root / JULIE / "Datas/pxdatas"
    on_disk = {
        str(f.relative_to(px)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in px.rglob("*")
        if f.is_file()
    }
    assert {e["path"]: e["sha256"] for e in document["manifest"]} == on_disk
    assert len(on_disk) == 4
    event = AuditEvent.objects.get(action="fse.snapshot")
    assert event.category == "fse" and event.data["files"] == 4
    assert event.data["evidence"][0]["sha256"] == evidence.sha256


def test_it_checks_the_extras(make_practice, alice):
    p = make_practice()
    assert run_step(p, "source.extras", alice).status == "passed"
    (p.source_root / "Windows/Julieprf.ini").unlink()
    run = run_step(p, "source.extras", alice)
    assert run.status == "warning"
    assert run.result["extras"]["julieprf_ini"]["present"] is False
