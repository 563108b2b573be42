"""Shared pieces of the failure drills: a located job, a big practice tree, an SFTP new server."""

import os
from pathlib import Path

import pytest

from julieops.mirror.endpoints import is_temp_name
from migrations_app.execution import runner
from migrations_app.models import Credential, JobStep, StepRun
from tests.julieops.mirror.trees import snapshot


def juliew(root) -> Path:
    return Path(root) / "partage" / "Juliew"


def carried(tree: dict) -> dict:
    """What data.mirror carries of a tree's `contents`: all but Datas/server.register."""
    return {rel: v for rel, v in tree.items() if rel.casefold() != "datas/server.register"}


def contents(root: Path) -> dict:
    """rel -> (kind, sha256) of everything under root (nothing left out)."""
    return {rel: value[:2] for rel, value in snapshot(root, times=False).items()}


def temp_files(root: Path) -> list[str]:
    return [
        os.path.join(dirpath, name)
        for dirpath, _dirs, files in os.walk(root)
        for name in files
        if is_temp_name(name)
    ]


def add_big_images(julie_root: Path, *, files: int, megabytes: int) -> int:
    """Radiographs of incompressible bytes (written fast with os.urandom). Returns bytes."""
    folder = julie_root / "XRAY" / "Archives 2019"
    folder.mkdir(parents=True, exist_ok=True)
    chunk = 1 << 20
    for i in range(files):
        with (folder / f"panoramique-{i:03d}.dcm").open("wb") as fh:
            for _ in range(megabytes):
                fh.write(os.urandom(chunk))
    return files * megabytes * chunk


def media(tmp_path) -> dict:
    """Worker environment: evidence files in the test's folder, as in this process."""
    return {"MEDIA_ROOT": str(tmp_path / "media")}


def refresh(run: StepRun) -> StepRun:
    run.refresh_from_db()
    return run


def probe_step(job, key, **options) -> JobStep:
    job.options = {**job.options, **options}
    job.save()
    return JobStep.objects.create(job=job, key=key, phase=9, order=1, kind="auto")


@pytest.fixture
def located(job, alice):
    """The job with its data located (source.locate run in this process)."""
    step = job.steps.get(key="source.locate")
    run = StepRun.objects.create(step=step, requested_by=alice, queue="test")
    assert runner.execute(run.pk, "test") == "passed"
    job.refresh_from_db()
    return job


@pytest.fixture
def sftp_target(located, sshd, tmp_path):
    """The new server reached over SFTP (real sshd, key credential, pinned host key);
    returns its C: folder as seen on this machine."""
    remote_c = tmp_path / "remote-c"
    remote_c.mkdir()
    credential = Credential(name="clé du nouveau serveur", username=sshd.username)
    credential.secret = sshd.client_key_path.read_text()
    credential.save()
    target = located.target
    target.transport, target.address, target.port = "ssh", sshd.host, sshd.port
    target.root_path, target.credential = str(remote_c), credential
    target.host_key_fingerprint = sshd.host_key_fingerprint()
    target.save()
    return remote_c


@pytest.fixture(autouse=True)
def _no_login_failures_left(db):
    """Log-in failure counters live in the shared cache (Redis) across tests and runs."""
    from django.core.cache import cache

    cache.clear()  # this suite's own Redis database only (FLUSHDB, never FLUSHALL)
