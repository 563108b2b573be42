"""data.* steps writing to a new server reached over SSH (SFTP): same results as on a local
target — right contents and modification times, no temporary file left, same evidence and
audit — and the old server never written to."""

import hashlib
import json
import shutil
import sqlite3
import zipfile

import pytest

from migrations_app import actions
from migrations_app.models import AuditEvent, Evidence
from migrations_app.steps import pxdatas
from tests.julieops.julietree.conftest import tree_fingerprint
from tests.migrations_app.steps.fse.conftest import JULIE, run_step, start_and_run
from tests.migrations_app.steps.remote.conftest import leftovers, reach_over_ssh

pytestmark = pytest.mark.django_db(transaction=True)
SERVICES = "ProgramData/Julie Software/datas"
PX = f"{JULIE}/Datas/pxdatas"


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def same_second(a, b) -> bool:
    """SFTP (version 3) carries whole seconds."""
    return int(a.stat().st_mtime) == int(b.stat().st_mtime)


def hashes(folder):
    return {
        str(f.relative_to(folder)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in folder.rglob("*")
        if f.is_file()
    }


def test_it_removes_server_register_over_ssh_keeping_a_copy(ssh_practice, alice):
    p = ssh_practice()
    p.mirror()
    original = (p.target_root / JULIE / "Datas/server.register").read_bytes()
    source_before = tree_fingerprint(p.source_root)
    run = start_and_run(p.step("data.server_register"), alice)
    assert run.status == "passed", (run.summary, run.error)
    assert not (p.target_root / JULIE / "Datas/server.register").exists()
    assert (p.target_root / JULIE / "Datas").is_dir()
    # Two copies kept: the old server's and the one removed from the new Datas.
    kept = [Evidence.objects.get(pk=ref["id"]).file.read() for ref in run.result["evidence"]]
    assert kept == [original, original]
    event = AuditEvent.objects.get(action="data.server_register.remove")
    assert event.category == "data" and event.data["machine"] == "NOUVEAU-SERVEUR"
    assert event.data["sha256"] == hashlib.sha256(original).hexdigest()
    assert tree_fingerprint(p.source_root) == source_before
    again = start_and_run(p.step("data.server_register"), alice)
    assert again.status == "passed" and "déjà absent" in again.summary
    assert "BEGIN" not in "".join(run.log_lines.values_list("text", flat=True))


def test_it_copies_internet_par_and_julieprf_ini_over_ssh(ssh_practice, alice):
    p = ssh_practice()
    p.mirror()
    # The new server spells the folder in capitals: the existing one is used, not a twin.
    (p.target_root / JULIE / "Pyxvital").rename(p.target_root / JULIE / "PYXVITAL")
    (p.target_root / JULIE / "PYXVITAL/Internet.par").write_bytes(b"ancien")
    run = start_and_run(p.step("data.teletransmission"), alice)
    assert run.status == "passed", (run.summary, run.error)
    src, dst = p.source_root / JULIE / "Pyxvital/Internet.par", p.target_root / JULIE / "PYXVITAL"
    assert sorted(
        f.name for f in (p.target_root / JULIE).iterdir() if "yxvital" in f.name.lower()
    ) == ["PYXVITAL"]
    assert sha(dst / "Internet.par") == sha(src) and same_second(dst / "Internet.par", src)
    copy = AuditEvent.objects.get(action="data.internet_par.copy")
    assert copy.data["previous_target_sha256"] == hashlib.sha256(b"ancien").hexdigest()
    assert copy.data["target"]["sha256"] == sha(src) and copy.data["copied"] is True

    run = start_and_run(p.step("data.window_layout"), alice)
    assert run.status == "passed", (run.summary, run.error)
    ini = "Windows/Julieprf.ini"
    assert sha(p.target_root / ini) == sha(p.source_root / ini)
    assert same_second(p.target_root / ini, p.source_root / ini)
    evidence = Evidence.objects.get(pk=run.result["evidence"]["id"])
    assert json.loads(evidence.file.read())["target"]["machine"] == "NOUVEAU-SERVEUR"
    assert AuditEvent.objects.filter(action__in=[
        "data.internet_par.copy", "data.julieprf_ini.copy"]).count() == 2  # fmt: skip
    assert leftovers(p.target_root) == []
    # Identical already: nothing written, nothing audited again.
    again = start_and_run(p.step("data.window_layout"), alice)
    assert again.status == "passed" and "déjà identique" in again.summary
    assert AuditEvent.objects.filter(action="data.julieprf_ini.copy").count() == 1


def test_it_copies_the_services_databases_over_ssh_and_checks_them(ssh_practice, alice):
    p = ssh_practice()
    before = tree_fingerprint(p.source_root)
    assert not (p.target_root / "ProgramData/Julie Software").exists()
    run = start_and_run(p.step("data.services"), alice)
    assert run.status == "passed", (run.summary, run.error)
    src, dst = p.source_root / SERVICES, p.target_root / SERVICES
    names = sorted(f.name for f in src.iterdir() if not f.name.endswith("-shm"))
    assert sorted(f.name for f in dst.iterdir()) == names and "Sms.db" in names
    assert all(sha(src / n) == sha(dst / n) for n in names)
    assert all(same_second(src / n, dst / n) for n in names)
    db_items = [i for i in run.result["items"] if ".db" in i["label"]]
    assert db_items and all("intégrité ok" in i["detail"] for i in db_items)
    assert leftovers(p.target_root) == []
    assert tree_fingerprint(p.source_root) == before
    copy = AuditEvent.objects.get(action="sms.copy")
    assert copy.category == "sms" and copy.data["files"][0]["sha256"] == sha(dst / "Sms.db")
    assert copy.data["files"][0]["integrity"] == "ok"
    manifest = Evidence.objects.get(pk=run.result["evidence"]["id"])
    document = json.loads(manifest.file.read())
    assert {f["name"]: f["sha256"] for f in document["files"]} == {n: sha(dst / n) for n in names}
    again = start_and_run(p.step("data.services"), alice)
    assert again.status == "passed"
    assert all("déjà à jour" in i["detail"] for i in again.result["items"])


def test_it_flags_a_services_database_damaged_on_the_way(ssh_practice, alice, monkeypatch):
    """The integrity check reads back what reached the new server, not what was sent."""
    from julieops.julietree import writer

    p = ssh_practice()
    real = writer.TreeWriter.write_file

    def damaging(self, relpath, content, mtime=None):
        if relpath.endswith("Sms.db"):
            content = content[:4096] + b"\0" * (len(content) - 4096)
        return real(self, relpath, content, mtime)

    monkeypatch.setattr(writer.TreeWriter, "write_file", damaging)
    run = start_and_run(p.step("data.services"), alice)
    assert run.status == "failed"
    sms = next(i for i in run.result["items"] if i["label"].endswith("Sms.db"))
    assert sms["status"] == "fail" and "empreinte différente" in sms["detail"]


def test_it_restores_a_stale_sms_db_over_ssh_once_approved(ssh_practice, alice, bob):
    p = ssh_practice(sms_db_stale=True)
    step = p.step("data.services")
    run = start_and_run(step, alice)
    assert run.status == "failed" and "approbation" in run.summary
    restore = run.result["sms_restore"]
    dst = p.target_root / SERVICES / "Sms.db"
    assert not dst.exists()
    # A journal left from an earlier copy would be replayed into the restored database.
    (p.target_root / SERVICES / "Sms.db-journal").write_bytes(b"ancien journal")
    step.refresh_from_db()
    actions.approve_step(step, bob, "Sms.db du serveur vieux de 45 jours")
    run = start_and_run(step, alice)
    assert run.status == "passed", (run.summary, run.error)
    newest = max((p.source_root / JULIE / "Datas/JulieServicesDb").glob("*.zip"))
    with zipfile.ZipFile(newest) as archive:
        assert dst.read_bytes() == archive.read(restore["member"])
    assert not (p.target_root / SERVICES / "Sms.db-journal").exists()
    conn = sqlite3.connect(f"file:{dst}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    event = AuditEvent.objects.get(action="sms.restore")
    assert event.data["approved_by"] == "bob" and event.data["restore"]["zip"] == newest.name
    assert leftovers(p.target_root) == []


def resurrect_sent_fse(p, tmp_path):
    from julieops.julietree.generate import generate_julie_tree

    backup = tmp_path / "sauvegarde"
    summary = generate_julie_tree(backup, p.opts, backup=True, data_root="Juliew")
    for rel in summary["sent_fse"]:
        shutil.copy2(backup / rel, p.target_root / PX / rel.split("pxdatas/", 1)[1])
    return len(summary["sent_fse"])


def test_it_purges_pxdatas_over_ssh_after_approval(ssh_practice, alice, bob, tmp_path):
    p = ssh_practice()
    assert run_step(p, "source.pxdatas_snapshot", alice).status == "passed"
    p.mirror()
    resurrect_sent_fse(p, tmp_path)
    step = p.step("data.pxdatas")
    source_before = tree_fingerprint(p.source_root)
    before = hashes(p.target_root / PX)
    assert any(d.is_dir() for d in (p.target_root / PX).iterdir())

    refused = start_and_run(step, alice)
    assert refused.status == "failed" and "en trop" in refused.summary
    assert hashes(p.target_root / PX) == before

    pxdatas.request_decision(
        step, alice, pxdatas.PURGE, "Sauvegarde incrémentale restaurée par erreur"
    )
    assert run_step(p, "data.pxdatas", alice).status == "failed"  # not approved yet
    assert hashes(p.target_root / PX) == before
    step.refresh_from_db()
    actions.approve_step(step, bob, "FSE déjà acquittées par la CPAM (ARL reçus)")
    run = start_and_run(step, alice)
    assert run.status == "passed", (run.summary, run.error)
    assert hashes(p.target_root / PX) == {}
    assert (p.target_root / PX).is_dir() and list((p.target_root / PX).iterdir()) == []
    assert tree_fingerprint(p.source_root) == source_before

    purge = AuditEvent.objects.get(action="fse.purge")
    assert purge.data["approved_by"] == "bob" and purge.data["removed"] == len(before)
    assert purge.data["left"] == 0
    manifest = Evidence.objects.get(pk=purge.data["evidence"][0]["id"])
    assert {e["path"]: e["sha256"] for e in json.loads(manifest.file.read())["manifest"]} == before
    again = start_and_run(step, alice)
    assert again.status == "passed" and "vide" in again.summary


def test_it_proves_pxdatas_equality_over_ssh(ssh_practice, alice):
    p = ssh_practice(pending_fse=4)
    assert run_step(p, "source.pxdatas_snapshot", alice).status == "passed"
    p.mirror()
    run = start_and_run(p.step("data.pxdatas"), alice)
    assert run.status == "passed", (run.summary, run.error)
    assert len(run.result["proof"]) == 4
    assert AuditEvent.objects.get(action="fse.equality_proven").data["equal"] == 4


def test_it_refuses_a_target_that_is_the_source_machine(ssh_practice, alice, sshd):
    p = ssh_practice()
    p.mirror()
    reach_over_ssh(p.source, sshd, p.source_root)  # same address as the new server
    before = tree_fingerprint(p.source_root)
    run = start_and_run(p.step("data.window_layout"), alice)
    assert run.status == "failed" and "même machine" in run.summary
    assert tree_fingerprint(p.source_root) == before


def test_it_refuses_a_loopback_target_overlapping_the_local_source(ssh_practice, alice):
    p = ssh_practice()
    p.target.root_path = str(p.source_root / "partage")
    p.target.save()
    before = tree_fingerprint(p.source_root)
    run = start_and_run(p.step("data.server_register"), alice)
    assert run.status == "failed" and "recouvre la source" in run.summary
    assert tree_fingerprint(p.source_root) == before


def test_it_refuses_an_unconfirmed_host_key(ssh_practice, alice):
    p = ssh_practice()
    p.mirror()
    p.target.host_key_fingerprint = ""
    p.target.save()
    run = start_and_run(p.step("data.server_register"), alice)
    assert run.status == "failed" and "empreinte" in run.summary
    assert (p.target_root / JULIE / "Datas/server.register").exists()
