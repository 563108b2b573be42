"""data.services, data.server_register, data.teletransmission, data.window_layout."""

import hashlib
import sqlite3
import zipfile

import pytest

from migrations_app import actions
from migrations_app.models import AuditEvent, Evidence
from tests.julieops.julietree.conftest import tree_fingerprint
from tests.migrations_app.steps.fse.conftest import JULIE, start_and_run

pytestmark = pytest.mark.django_db(transaction=True)
SERVICES = "ProgramData/Julie Software/datas"


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def reminders(path):
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM reminders").fetchone()[0]
    finally:
        conn.close()


def test_it_copies_the_services_databases_and_checks_them(make_practice, alice):
    p = make_practice()
    before = tree_fingerprint(p.source_root)
    run = start_and_run(p.step("data.services"), alice)
    assert run.status == "passed", run.summary
    src, dst = p.source_root / SERVICES, p.target_root / SERVICES
    names = sorted(f.name for f in src.iterdir())
    assert sorted(f.name for f in dst.iterdir()) == names and "Sms.db" in names
    assert all(sha(src / n) == sha(dst / n) for n in names)
    assert all("intégrité ok" in i["detail"] for i in run.result["items"] if ".db" in i["label"])
    assert tree_fingerprint(p.source_root) == before
    copy = AuditEvent.objects.get(action="sms.copy")
    assert copy.category == "sms" and copy.data["files"][0]["sha256"] == sha(dst / "Sms.db")
    assert AuditEvent.objects.get(action="data.services.copy").category == "data"
    again = start_and_run(p.step("data.services"), alice)
    assert again.status == "passed"
    assert all("déjà à jour" in i["detail"] for i in again.result["items"])


def test_it_takes_sms_db_from_the_secondary_sms_host(make_practice, alice):
    p = make_practice(sms_host="POSTE-SMS")
    _machine, sms_root = p.add_sms_host("POSTE-SMS")
    run = start_and_run(p.step("data.services"), alice)
    assert run.status == "passed", run.summary
    assert sha(p.target_root / SERVICES / "Sms.db") == sha(sms_root / SERVICES / "Sms.db")
    assert AuditEvent.objects.get(action="sms.copy").data["sms_host"] == "POSTE-SMS"


def test_it_restores_a_stale_sms_db_from_the_zip_only_once_approved(make_practice, alice, bob):
    p = make_practice(sms_db_stale=True)
    step = p.step("data.services")
    run = start_and_run(step, alice)
    assert run.status == "failed" and "approbation" in run.summary
    restore = run.result["sms_restore"]
    assert not (p.target_root / SERVICES / "Sms.db").exists()  # the stale copy is not carried
    with pytest.raises(actions.ActionRefused) as refused:
        actions.approve_step(step, alice, "ok")
    assert refused.value.status == 403
    step.refresh_from_db()
    actions.approve_step(step, bob, "Sms.db du serveur vieux de 45 jours")
    run = start_and_run(step, alice)
    assert run.status == "passed", run.summary
    restored = p.target_root / SERVICES / "Sms.db"
    newest = max((p.source_root / JULIE / "Datas/JulieServicesDb").glob("*.zip"))
    with zipfile.ZipFile(newest) as archive:
        member = archive.read(restore["member"])
    assert restored.read_bytes() == member
    assert reminders(restored) > reminders(p.source_root / SERVICES / "Sms.db")
    event = AuditEvent.objects.get(action="sms.restore")
    assert event.reason == "Sms.db du serveur vieux de 45 jours"
    assert event.data["approved_by"] == "bob" and event.data["restore"]["zip"] == newest.name


def test_it_removes_server_register_from_the_target_keeping_a_copy(make_practice, alice):
    p = make_practice()
    p.mirror()
    original = (p.target_root / JULIE / "Datas/server.register").read_bytes()
    run = start_and_run(p.step("data.server_register"), alice)
    assert run.status == "passed"
    assert not (p.target_root / JULIE / "Datas/server.register").exists()
    assert (p.source_root / JULIE / "Datas/server.register").read_bytes() == original
    # Two copies kept: the old server's (source) and the one removed from the new Datas.
    kept = [Evidence.objects.get(pk=ref["id"]).file.read() for ref in run.result["evidence"]]
    assert kept == [original, original]
    assert AuditEvent.objects.get(action="data.server_register.remove").category == "data"
    assert start_and_run(p.step("data.server_register"), alice).status == "passed"


def test_it_copies_internet_par_and_julieprf_ini(make_practice, alice):
    p = make_practice()
    p.mirror()
    (p.target_root / JULIE / "Pyxvital/Internet.par").write_bytes(b"ancien")
    run = start_and_run(p.step("data.teletransmission"), alice)
    assert run.status == "passed"
    par = "Pyxvital/Internet.par"
    assert sha(p.target_root / JULIE / par) == sha(p.source_root / JULIE / par)
    run = start_and_run(p.step("data.window_layout"), alice)
    assert run.status == "passed"
    assert sha(p.target_root / "Windows/Julieprf.ini") == sha(
        p.source_root / "Windows/Julieprf.ini"
    )
    assert AuditEvent.objects.filter(action__in=[
        "data.internet_par.copy", "data.julieprf_ini.copy"]).count() == 2  # fmt: skip


def test_it_refuses_a_target_overlapping_the_source(make_practice, alice):
    p = make_practice()
    p.target.root_path = str(p.source_root / "partage")
    p.target.save()
    run = start_and_run(p.step("data.window_layout"), alice)
    assert run.status == "failed" and "recouvre la source" in run.summary
