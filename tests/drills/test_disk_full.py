"""Drills: the new server's disk is full (a real 24 MB tmpfs as its C: drive).

Checked before copying: the run fails at once with its free and needed space. Full during
the copy (another writer took the room): the first ENOSPC ends the run, no per-file
retries, no temporary file left, the old server untouched. Real worker over Redis."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from julieops.mirror import MirrorOptions, open_endpoint, run_mirror
from migrations_app import actions
from tests.support.worker import Worker, wait_for

from .conftest import add_big_images, contents, juliew, media, refresh, temp_files

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def small_disk(tmp_path):
    """A 24 MB filesystem of its own, unmounted afterwards."""
    mount = tmp_path / "disque-24M"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_mirror_to_a_full_new_server_fails_at_once_with_free_and_needed_space(
    located, small_disk, alice, tmp_path
):
    job = located
    source = juliew(job.source.root_path)
    add_big_images(source, files=10, megabytes=4)  # 40 MB for a 24 MB disk
    before = contents(source)
    job.target.root_path = str(small_disk)
    job.target.save()
    job.site.worker_queue = f"drill-full-{job.pk}"
    job.site.save()
    worker = Worker(job.site.worker_queue, env=media(tmp_path)).start()
    try:
        started = time.monotonic()
        run = actions.start_run(job.steps.get(key="data.mirror"), alice)
        wait_for(lambda: refresh(run).status not in ("queued", "running"), timeout=60)
        elapsed = time.monotonic() - started
    finally:
        worker.stop()
    assert run.status == "failed", (run.summary, run.error)
    assert elapsed < 30
    text = "\n".join(run.log_lines.values_list("text", flat=True))
    assert "disque plein sur" in text and "Mo libres" in text and "Mo nécessaires" in text
    assert "disque plein" in run.summary or "disque plein" in str(run.result)
    assert contents(source) == before
    assert temp_files(small_disk) == []


def test_a_disk_that_fills_during_the_copy_ends_the_run_at_the_first_enospc(tmp_path, small_disk):
    source = tmp_path / "ancien"
    (source / "XRAY").mkdir(parents=True)
    for i in range(16):  # 16 MB: fits the 24 MB disk when the copy starts
        (source / "XRAY" / f"image-{i:02d}.dcm").write_bytes(os.urandom(1 << 20))
    dest = small_disk / "Juliew"
    lines, filled = [], []

    def fill_the_disk(_progress):  # another writer takes the room once the copy began
        if not filled:
            filled.append(True)
            with (small_disk / "autre-logiciel.bin").open("wb", buffering=0) as fh:
                try:
                    while True:
                        fh.write(b"\0" * (1 << 20))
                except OSError:
                    pass

    with open_endpoint(str(source)) as a, open_endpoint(str(dest)) as b:
        started = time.monotonic()
        summary = run_mirror(
            a,
            b,
            MirrorOptions(retries=2, retry_wait=5.0, progress_interval=0),
            progress=fill_the_disk,
            log=lambda level, text: lines.append(text),
        )
        elapsed = time.monotonic() - started
    assert elapsed < 5, elapsed  # not 2 retries x 5 s per file
    assert summary.fatal and summary.fatal.startswith(f"disque plein sur {dest} : ")
    assert "libres" in summary.fatal and "16,0 Mo nécessaires" in summary.fatal
    assert "No space left on device" in summary.fatal
    assert summary.exit_code >= 8
    assert not any("Nouvelle tentative" in line for line in lines)
    assert temp_files(dest) == []
    assert len(list(Path(source, "XRAY").iterdir())) == 16
