"""data.pxdatas: equality proven without approval; a purge or keeping extra files only with a
supervisor's approval and a written reason; never an FSE removed without its manifest."""

import hashlib
import json
import shutil

import pytest

from migrations_app import actions
from migrations_app.models import AuditEvent, Evidence
from migrations_app.steps import pxdatas
from tests.julieops.julietree.conftest import tree_fingerprint
from tests.migrations_app.steps.fse.conftest import JULIE, run_step, start_and_run

pytestmark = pytest.mark.django_db(transaction=True)
PX = f"{JULIE}/Datas/pxdatas"


def hashes(folder):
    return {
        str(f.relative_to(folder)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in folder.rglob("*")
        if f.is_file()
    }


def ready(make_practice, alice, **options):
    p = make_practice(**options)
    assert run_step(p, "source.pxdatas_snapshot", alice).status == "passed"
    p.mirror()
    return p


def resurrect_sent_fse(p, tmp_path):
    """An incremental backup restored on the new server brings back FSE already sent."""
    from julieops.julietree.generate import generate_julie_tree

    backup = tmp_path / "sauvegarde"
    summary = generate_julie_tree(backup, p.opts, backup=True, data_root="Juliew")
    for rel in summary["sent_fse"]:
        dest = p.target_root / PX / rel.split("pxdatas/", 1)[1]
        shutil.copy2(backup / rel, dest)
    return len(summary["sent_fse"])


def test_it_proves_equality_file_by_file_without_approval(make_practice, alice):
    p = ready(make_practice, alice, pending_fse=5)
    run = start_and_run(p.step("data.pxdatas"), alice)
    assert run.status == "passed", run.summary
    assert "Égalité prouvée" in run.summary and len(run.result["proof"]) == 5
    event = AuditEvent.objects.get(action="fse.equality_proven")
    assert event.category == "fse" and event.data["equal"] == 5
    assert event.data["manifest_sha256"] == event.data["snapshot_manifest_sha256"]
    evidence = Evidence.objects.get(pk=event.data["evidence"][0]["id"])
    document = json.loads(evidence.file.read())
    assert {e["path"]: e["sha256"] for e in document["manifest"]} == hashes(p.target_root / PX)


def test_it_refuses_extra_files_without_a_decision(make_practice, alice, tmp_path):
    p = ready(make_practice, alice)
    extra = resurrect_sent_fse(p, tmp_path)
    run = start_and_run(p.step("data.pxdatas"), alice)
    assert run.status == "failed" and "en trop" in run.summary
    assert len(run.result["extras"]) == extra
    assert AuditEvent.objects.get(action="fse.verify").data["extras"] == extra
    # Nothing was removed.
    assert len(hashes(p.target_root / PX)) == extra + p.opts.pending_fse


def test_it_reports_missing_and_changed_fse(make_practice, alice):
    p = ready(make_practice, alice, pending_fse=3)
    files = sorted((p.target_root / PX).rglob("*.fse"))
    files[0].unlink()
    files[1].write_bytes(b"autre contenu")
    run = start_and_run(p.step("data.pxdatas"), alice)
    assert run.status == "failed" and "relancez la copie miroir" in run.summary
    details = sorted(i["detail"] for i in run.result["items"] if i["status"] == "fail")
    assert details == ["absent de la cible", "contenu différent de la source"]


def test_it_refuses_a_stale_snapshot(make_practice, alice):
    p = ready(make_practice, alice)
    next((p.source_root / PX).rglob("*.fse")).unlink()  # sent since the snapshot
    run = start_and_run(p.step("data.pxdatas"), alice)
    assert run.status == "failed" and "relancez la photographie" in run.summary


def test_it_purges_only_after_a_supervisor_approved_with_a_reason(
    make_practice, alice, bob, tmp_path
):
    p = ready(make_practice, alice)
    resurrect_sent_fse(p, tmp_path)
    step = p.step("data.pxdatas")
    source_before = tree_fingerprint(p.source_root)
    before = hashes(p.target_root / PX)

    pxdatas.request_decision(
        step, alice, pxdatas.PURGE, "Sauvegarde incrémentale restaurée par erreur"
    )
    with pytest.raises(actions.ActionRefused) as refused:
        actions.start_run(step, alice)  # a purge without approval
    assert refused.value.status == 403
    with pytest.raises(actions.ActionRefused) as refused:
        actions.approve_step(step, alice, "je valide")  # a technician cannot approve
    assert refused.value.status == 403
    with pytest.raises(actions.ActionRefused) as refused:
        actions.approve_step(step, bob, "   ")  # a written reason is required
    assert refused.value.status == 400
    assert run_step(p, "data.pxdatas", alice).status == "failed"  # even queued directly
    assert hashes(p.target_root / PX) == before

    actions.approve_step(step, bob, "FSE déjà acquittées par la CPAM (ARL reçus)")
    approval = AuditEvent.objects.get(action="step.approve")
    assert approval.category == "fse" and approval.data["decision"]["decision"] == "purge"
    run = start_and_run(step, alice)
    assert run.status == "passed", run.summary
    assert hashes(p.target_root / PX) == {}
    assert (p.target_root / PX).is_dir()
    assert tree_fingerprint(p.source_root) == source_before  # the source is never touched

    purge = AuditEvent.objects.get(action="fse.purge")
    assert purge.reason == "FSE déjà acquittées par la CPAM (ARL reçus)"
    assert purge.data["approved_by"] == "bob" and purge.data["removed"] == len(before)
    manifest = Evidence.objects.get(pk=purge.data["evidence"][0]["id"])
    document = json.loads(manifest.file.read())
    assert {e["path"]: e["sha256"] for e in document["manifest"]} == before
    assert hashlib.sha256(manifest.file.open("rb").read()).hexdigest() == manifest.sha256

    # Applied once: a re-run checks the folder stays empty, no second approval needed.
    again = start_and_run(step, alice)
    assert again.status == "passed" and "vide" in again.summary


def test_it_keeps_extras_only_those_the_supervisor_saw(make_practice, alice, bob, tmp_path):
    p = ready(make_practice, alice)
    extra = resurrect_sent_fse(p, tmp_path)
    step = p.step("data.pxdatas")
    with pytest.raises(actions.ActionRefused):
        pxdatas.request_decision(step, alice, pxdatas.KEEP_EXTRAS, "à garder")  # nothing seen yet
    assert start_and_run(step, alice).status == "failed"
    step.refresh_from_db()
    pxdatas.request_decision(
        step, alice, pxdatas.KEEP_EXTRAS, "FSE à renvoyer, rejetées par la CPAM"
    )
    actions.approve_step(step, bob, "Vérifié avec le cabinet")
    run = start_and_run(step, alice)
    assert run.status == "warning" and "gardé" in run.summary
    event = AuditEvent.objects.get(action="fse.keep_extras")
    assert len(event.data["kept"]) == extra and event.reason == "Vérifié avec le cabinet"

    (p.target_root / PX / "F9999999.fse").write_bytes(b"nouveau")
    run = start_and_run(step, alice)
    assert run.status == "failed"


def test_it_needs_no_approval_and_accepts_none_without_a_decision(make_practice, alice, bob):
    p = ready(make_practice, alice)
    step = p.step("data.pxdatas")
    with pytest.raises(actions.ActionRefused) as refused:
        actions.approve_step(step, bob, "rien à approuver")
    assert refused.value.status == 400
    with pytest.raises(actions.ActionRefused):
        pxdatas.request_decision(step, alice, "delete_everything", "oups")


# -- the source may be a backup (issue 11, item 4) --------------------------------------------


def test_an_incremental_backup_source_without_a_purge_decision_is_refused(make_practice, alice):
    from migrations_app.models import AuditEvent

    p = ready(make_practice, alice)
    actions.set_source_kind(p.job, alice, "incremental_backup", "Ancien serveur mort, restauré")
    event = AuditEvent.objects.get(action="job.source_kind")
    assert event.category == "fse" and event.data == {
        "before": "live",
        "after": "incremental_backup",
    }
    p.job.refresh_from_db()
    run = start_and_run(p.step("data.pxdatas"), alice)
    assert run.status == "failed" and "sauvegarde incrémentale" in run.summary
    # Equal to the snapshot, yet no proof: nothing was judged equal.
    assert not AuditEvent.objects.filter(action="fse.equality_proven").exists()


def test_an_incremental_backup_is_purged_once_another_supervisor_approved(
    make_practice, alice, bob, tmp_path
):
    p = ready(make_practice, alice)
    actions.set_source_kind(p.job, alice, "incremental_backup", "Restauration")
    step = p.step("data.pxdatas")
    pxdatas.request_decision(step, alice, pxdatas.PURGE, "Sauvegarde incrémentale : vider")
    actions.approve_step(step, bob, "ARL reçus pour tous les lots")
    run = start_and_run(p.step("data.pxdatas"), alice)
    assert run.status == "passed", run.summary
    assert not list((p.target_root / PX).rglob("*.*"))


def test_only_a_supervisor_states_that_an_incremental_backup_is_a_mirror(make_practice, alice, bob):
    p = ready(make_practice, alice)
    actions.set_source_kind(p.job, alice, "incremental_backup", "Restauration")
    with pytest.raises(actions.ActionRefused) as refused:
        actions.set_source_kind(p.job, alice, "mirror_backup", "je pense")
    assert refused.value.status == 403
    with pytest.raises(actions.ActionRefused) as refused:
        actions.set_source_kind(p.job, bob, "mirror_backup", "  ")
    assert refused.value.status == 400
    actions.set_source_kind(p.job, bob, "mirror_backup", "Sauvegarde miroir Julie Backup du 12")
    p.job.refresh_from_db()
    run = start_and_run(p.step("data.pxdatas"), alice)
    assert run.status == "passed", run.summary


def test_the_source_kind_form_answers_bad_input_with_a_4xx(make_practice, alice, carol):
    from tests.conftest import client_for

    p = ready(make_practice, alice)
    url = f"/jobs/{p.job.pk}/source-kind/"
    client = client_for(alice)
    assert client.post(url, {"source_kind": "disquette", "note": "x"}).status_code == 400
    assert client.post(url, {"source_kind": "mirror_backup"}).status_code == 400
    assert (
        client_for(carol).post(url, {"source_kind": "mirror_backup", "note": "x"}).status_code
        == 403
    )
    response = client.post(url, {"source_kind": "mirror_backup", "note": "Julie Backup miroir"})
    assert response.status_code == 302
    p.job.refresh_from_db()
    assert p.job.source_kind == "mirror_backup"
    page = client.get(f"/jobs/{p.job.pk}/?step=data.pxdatas").content.decode()
    assert "une sauvegarde miroir" in page


def test_a_backup_with_the_live_server_names_the_sent_fse_and_never_copies_them(
    make_practice, alice, bob, tmp_path
):
    """The old server still runs, its restored incremental backup is the source: the backup's
    FSE the live server no longer holds were sent; the mirror leaves them behind, data.pxdatas
    names them, and they are in the FSE timeline and the CPAM export."""
    from julieops.julietree.generate import generate_julie_tree
    from migrations_app.choices import MachineRole
    from migrations_app.fse import timeline_csv
    from tests.conftest import client_for

    p = make_practice()
    backup_root = tmp_path / "sauvegarde" / "C"
    summary = generate_julie_tree(backup_root, p.opts, backup=True)
    sent = sorted(rel.split("pxdatas/", 1)[1] for rel in summary["sent_fse"])
    assert sent
    live = p.source
    live.roles = [MachineRole.DATA_SERVER]
    live.save()
    restored = p.machine("SAUVEGARDE", backup_root, MachineRole.DATA_SERVER)
    p.job.source = restored
    p.job.save()
    p.job.extra_hosts.add(live)
    actions.set_source_kind(p.job, alice, "incremental_backup", "Serveur en panne, restauration")
    assert run_step(p, "source.locate", alice).status == "passed"
    assert run_step(p, "source.pxdatas_snapshot", alice).status == "passed"
    assert run_step(p, "data.mirror", alice).status == "passed"
    target_px = p.target_root / PX
    copied = {str(f.relative_to(target_px)) for f in target_px.rglob("*.fse")}
    assert copied and not copied & set(sent)  # never copied
    # The incremental backup still needs its decision; a supervisor states the rest is a mirror
    # of the live pxdatas, so the equality proof can run.
    run = start_and_run(p.step("data.pxdatas"), alice)
    assert run.status == "failed" and "sauvegarde incrémentale" in run.summary
    actions.set_source_kind(p.job, bob, "mirror_backup", "FSE envoyées écartées, le reste vérifié")
    run = start_and_run(p.step("data.pxdatas"), alice)
    assert run.status == "passed", run.summary
    named = {i["label"]: i["detail"] for i in run.result["items"]}
    for rel in sent:
        assert "jamais copiée" in named[rel]
    event = AuditEvent.objects.get(action="fse.backup_already_sent")
    assert {e["path"] for e in event.data["already_sent"]} == set(sent)
    export = timeline_csv([p.job])
    assert "fse.backup_already_sent" in export
    for rel in sent:
        assert rel in export
    page = client_for(alice).get(f"/customers/{p.customer.pk}/fse/?job={p.job.pk}")
    assert page.status_code == 200 and "fse.backup_already_sent" in page.content.decode()
