"""Drills: a worker SIGKILLed in the middle of a destructive step leaves a complete trail.

- data.pxdatas, an approved purge: the purge is audited before it starts (with its manifest)
  and before each batch of deletions, so every file gone from the new server is named in the
  audit trail, though the worker never reached its end; the reaper audits the lost run; a
  retry finishes the purge.
- data.services: each write to the new server is audited before it is made, so the write of
  a killed run is in the trail even when its retry finds the file unchanged.
Real worker processes over Redis, the test database on PostgreSQL."""

import pytest
from django.test import override_settings

from migrations_app import actions
from migrations_app.models import AuditEvent
from migrations_app.steps import pxdatas
from migrations_app.tasks import reap_runs
from tests.migrations_app.steps.fse.conftest import JULIE, Practice, run_step
from tests.support.worker import Worker, wait_for

from .conftest import media, refresh

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PX = f"{JULIE}/Datas/pxdatas"
RESTORED = 1_500  # FSE brought back by a wrong restore (the writer removes ~40 a second)


def files_under(folder) -> set[str]:
    return {str(f.relative_to(folder)) for f in folder.rglob("*") if f.is_file()}


@override_settings(JULIEOPS_HEARTBEAT_TIMEOUT=2)
def test_a_worker_killed_during_an_approved_purge_leaves_every_removed_file_audited(
    tmp_path, alice, bob
):
    p = Practice(tmp_path, alice)
    assert run_step(p, "source.pxdatas_snapshot", alice).status == "passed"
    p.mirror()
    px = p.target_root / PX
    restored = px / "restauration 2024"
    restored.mkdir()
    for i in range(RESTORED):
        (restored / f"FSE{i:05d}.xml").write_bytes(b"<fse n='%d'/>" % i)
    before = files_under(px)
    step = p.step("data.pxdatas")
    pxdatas.request_decision(step, alice, pxdatas.PURGE, "Sauvegarde restaurée par erreur")
    actions.approve_step(step, bob, "FSE déjà acquittées par la CPAM (ARL reçus)")
    p.site.worker_queue = f"drill-purge-{p.job.pk}"
    p.site.save()
    worker = Worker(p.site.worker_queue, env=media(tmp_path)).start()
    try:
        run = actions.start_run(step, alice)
        wait_for(
            lambda: AuditEvent.objects.filter(action="fse.purge.batch").count() >= 3,
            timeout=180,
            interval=0.02,
        )
        worker.kill()  # SIGKILL to the whole group: no goodbye
    finally:
        worker.stop()
    left = files_under(px)
    removed = before - left
    assert removed and left, "killed before or after the purge: change RESTORED"
    start = AuditEvent.objects.get(action="fse.purge.start")
    assert start.data["to_remove"] == len(before) and start.data["evidence"]
    assert start.reason == "FSE déjà acquittées par la CPAM (ARL reçus)"
    audited = {
        f"{e['path']}"
        for event in AuditEvent.objects.filter(action="fse.purge.batch")
        for e in event.data["removing"]
    }
    assert {rel.replace("\\", "/") for rel in removed} <= audited, "a removal left no trail"
    assert not AuditEvent.objects.filter(action="fse.purge").exists()  # never reached its end

    wait_for(lambda: run.pk in reap_runs()["lost"], timeout=30, interval=0.5)
    assert AuditEvent.objects.get(action="run.lost", data__run=run.pk).actor_name == "reaper"
    assert refresh(run).status == "lost"

    second = Worker(p.site.worker_queue, env=media(tmp_path)).start()
    try:
        retry = actions.start_run(step, alice, reason="reprise après la perte du worker")
        wait_for(lambda: refresh(retry).status not in ("queued", "running"), timeout=300)
    finally:
        second.stop()
    assert retry.status == "passed", (retry.summary, retry.error)
    assert files_under(px) == set()
    final = AuditEvent.objects.get(action="fse.purge")
    assert final.data["removed"] == len(left)  # the rest; the first part is in the batches


@override_settings(JULIEOPS_HEARTBEAT_TIMEOUT=2)
def test_a_worker_killed_inside_data_services_leaves_its_write_in_the_trail(tmp_path, alice):
    p = Practice(tmp_path, alice)
    # What data.services waits for in the procedure's order: the services inventory, the mirror.
    assert run_step(p, "source.services_data", alice).status in ("passed", "warning")
    p.mirror()
    step = p.step("data.services")
    p.site.worker_queue = f"drill-services-{p.job.pk}"
    p.site.save()
    worker = Worker(p.site.worker_queue, env=media(tmp_path)).start()
    try:
        run = actions.start_run(step, alice)
        wait_for(
            lambda: AuditEvent.objects.filter(action="data.services.write").exists(),
            timeout=120,
            interval=0.005,
        )
        worker.kill()  # at once after its first write was audited (made or not yet)
    finally:
        worker.stop()
    first = AuditEvent.objects.filter(action="data.services.write").order_by("pk").first()
    assert first.data["run"] == run.pk and first.data["sha256"] and first.data["target"]
    assert not AuditEvent.objects.filter(action="data.services.copy", data__run=run.pk).exists()
    wait_for(lambda: run.pk in reap_runs()["lost"], timeout=30, interval=0.5)
    second = Worker(p.site.worker_queue, env=media(tmp_path)).start()
    try:
        retry = actions.start_run(step, alice, reason="reprise après la perte du worker")
        wait_for(lambda: refresh(retry).status not in ("queued", "running"), timeout=120)
    finally:
        second.stop()
    assert retry.status == "passed", (retry.summary, retry.error)
    # The killed run's write is in the trail, whatever its retry found (copied or unchanged).
    assert AuditEvent.objects.filter(action="data.services.copy", data__run=retry.pk).exists()
    assert AuditEvent.objects.filter(action="data.services.write", data__run=run.pk).exists()
