"""Drill: the worker dies (SIGKILL) in the middle of a mirror to an SFTP new server.

The reaper marks the run lost; a retry on a fresh worker resumes and ends with the new
server equal to the old one, no partial file left, the old server untouched."""

import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from julieops.mirror.endpoints import is_temp_name
from migrations_app import actions
from migrations_app.models import Evidence, LogLine
from migrations_app.tasks import reap_runs
from tests.support.worker import Worker, wait_for

from .conftest import add_big_images, carried, contents, juliew, media, refresh, temp_files

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_it_notices_a_dead_worker_within_a_minute_with_the_default_settings():
    reaper_every = settings.CELERY_BEAT_SCHEDULE["reap-runs"]["schedule"]
    assert settings.JULIEOPS_HEARTBEAT_INTERVAL * 3 <= settings.JULIEOPS_HEARTBEAT_TIMEOUT
    assert settings.JULIEOPS_HEARTBEAT_TIMEOUT + reaper_every <= 60


@override_settings(JULIEOPS_HEARTBEAT_TIMEOUT=3)
def test_it_resumes_a_mirror_after_the_worker_is_killed_mid_copy(
    located, sftp_target, alice, tmp_path
):
    job = located
    source = juliew(job.source.root_path)
    add_big_images(source, files=64, megabytes=4)
    before = contents(source)
    job.site.worker_queue = f"drill-kill-{job.pk}"
    job.site.save()
    step = job.steps.get(key="data.mirror")

    first = Worker(job.site.worker_queue, env=media(tmp_path)).start()
    try:
        run = actions.start_run(step, alice)
        # Kill as soon as bytes went over, well before the end.
        wait_for(
            lambda: (refresh(run).done_bytes or 0) > 0 and run.status == "running",
            timeout=120,
            interval=0.05,
        )
        first.kill()  # SIGKILL to the whole process group: no goodbye, no final write
        killed_at = time.monotonic()
    finally:
        first.stop()
    run = refresh(run)
    assert run.status == "running", "the copy ended before the kill: make the tree bigger"
    assert run.done_bytes < run.total_bytes

    wait_for(lambda: reap_runs() and refresh(run).status == "lost", timeout=60, interval=0.5)
    assert time.monotonic() - killed_at < 60
    step.refresh_from_db()
    assert step.status == "failed"
    seqs = list(run.log_lines.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert "perdue" in run.log_lines.order_by("-seq").first().text
    target = juliew(sftp_target)
    assert contents(source) == before  # a mirror never writes to its source
    # Cut mid-copy: some files are there, each one whole; the rest only as temporary files.
    partial = temp_files(target)
    assert partial
    half_done = {rel: v for rel, v in contents(target).items() if not is_temp_name(Path(rel).name)}
    assert half_done != before
    assert {rel: before.get(rel) for rel in half_done} == half_done

    second = Worker(job.site.worker_queue, env=media(tmp_path)).start()
    try:
        retry = actions.start_run(step, alice, reason="reprise après la perte du worker")
        wait_for(lambda: refresh(retry).status not in ("queued", "running"), timeout=180)
    finally:
        second.stop()
    assert retry.status == "passed", (retry.summary, retry.error)
    assert retry.attempt == 2
    files = retry.result["roots"][0]["files"]
    assert files["failed"] == 0 and files["skipped"] > 0, files  # resumed, not started over
    assert contents(target) == carried(before)
    assert contents(source) == before
    assert temp_files(target) == [] and temp_files(source) == []
    assert Evidence.objects.filter(run=retry, kind="mirror-manifest").count() == 1
    seqs = list(LogLine.objects.filter(run=retry).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
