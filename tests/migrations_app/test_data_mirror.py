"""The data.mirror step: the job's data roots mirrored from the old server to the new one."""

import hashlib
import os
from pathlib import Path

import pytest

from migrations_app.execution import runner
from migrations_app.models import AuditEvent, Credential, Evidence, StepRun

pytestmark = pytest.mark.django_db(transaction=True)


def tree_digest(root: Path) -> dict:
    """Relative path -> (size, mtime_ns, sha256) of every file, and folders."""
    result = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs:
            result[os.path.relpath(os.path.join(dirpath, name), root) + "/"] = "dir"
        for name in files:
            path = os.path.join(dirpath, name)
            st = os.stat(path)
            data = Path(path).read_bytes()
            result[os.path.relpath(path, root)] = (st.st_size, hashlib.sha256(data).hexdigest())
    return result


def carried(digest: dict) -> dict:
    """What the mirror carries of a tree: everything but Datas/server.register."""
    return {k: v for k, v in digest.items() if k.casefold() != "datas/server.register"}


def run(job, key, user, **params):
    step = job.steps.get(key=key)
    run = StepRun.objects.create(step=step, requested_by=user, queue="test", params=params)
    runner.execute(run.pk, "test")
    run.refresh_from_db()
    return run


@pytest.fixture
def located(job, alice):
    assert run(job, "source.locate", alice).status == "passed"
    job.refresh_from_db()
    return job


def juliew(machine) -> Path:
    return Path(machine.root_path) / "partage" / "Juliew"


def test_it_mirrors_the_data_and_leaves_the_source_untouched(located, alice):
    job = located
    before = tree_digest(juliew(job.source))
    result = run(job, "data.mirror", alice)
    assert result.status == "passed", (result.summary, result.error)
    assert "Datas/server.register" in before
    assert tree_digest(juliew(job.target)) == carried(before)
    assert tree_digest(juliew(job.source)) == before
    files = result.result["roots"][0]["files"]
    assert files["copied"] == files["total"] > 20 and files["failed"] == 0
    evidence = Evidence.objects.get(run=result, kind="mirror-manifest")
    assert evidence.sha256 == result.result["roots"][0]["manifest_sha256"]
    event = AuditEvent.objects.get(action="data.mirror")
    assert event.category == "data" and event.data["roots"][0]["files"]["copied"] == files["copied"]


def test_it_copies_only_the_delta_on_a_second_run_and_removes_extras(located, alice):
    job = located
    assert run(job, "data.mirror", alice).status == "passed"
    datas = juliew(job.source) / "Datas"
    changed = next(p for p in sorted(datas.iterdir()) if p.is_file())
    changed.write_bytes(changed.read_bytes() + b"nouvelles donnees")
    extra = juliew(job.target) / "Datas" / "reste-d-une-restauration.tmp"
    extra.write_bytes(b"x")
    second = run(job, "data.mirror", alice)
    assert second.status == "passed"
    files = second.result["roots"][0]["files"]
    assert files["copied"] == 1 and files["extras"] == 1
    assert not extra.exists()
    assert tree_digest(juliew(job.target)) == carried(tree_digest(juliew(job.source)))


def test_it_changes_nothing_in_a_dry_run(located, alice):
    job = located
    result = run(job, "data.mirror", alice, dry_run=True)
    assert result.status == "passed"
    assert not juliew(job.target).exists()
    assert result.result["dry_run"] is True and result.result["roots"][0]["files"]["copied"] > 0
    assert not AuditEvent.objects.filter(action="data.mirror").exists()


def test_it_needs_the_data_located_first(job, alice):
    result = run(job, "data.mirror", alice)
    assert result.status == "failed" and "Localiser les données Julie" in result.summary


def test_it_refuses_a_destination_with_foreign_data(located, alice):
    job = located
    foreign = juliew(job.target)
    foreign.mkdir(parents=True)
    (foreign / "photos-vacances.jpg").write_bytes(b"pas du Julie")
    result = run(job, "data.mirror", alice)
    assert result.status == "failed"
    assert (foreign / "photos-vacances.jpg").exists()


def test_it_mirrors_to_a_new_server_reached_over_sftp(located, alice, sshd, tmp_path):
    job = located
    remote_c = tmp_path / "remote-c"
    remote_c.mkdir()
    credential = Credential(name="clé", username=sshd.username)
    credential.secret = sshd.client_key_path.read_text()
    credential.save()
    target = job.target
    target.transport, target.address, target.port = "ssh", sshd.host, sshd.port
    target.root_path, target.credential = str(remote_c), credential
    target.host_key_fingerprint = sshd.host_key_fingerprint()
    target.save()
    result = run(job, "data.mirror", alice)
    assert result.status == "passed", (result.summary, result.error)
    assert tree_digest(remote_c / "partage" / "Juliew") == carried(tree_digest(juliew(job.source)))
    assert "BEGIN" not in "".join(result.log_lines.values_list("text", flat=True))


def test_it_refuses_an_sftp_target_whose_host_key_is_not_confirmed(located, alice, sshd, tmp_path):
    job = located
    credential = Credential(name="clé", username=sshd.username)
    credential.secret = sshd.client_key_path.read_text()
    credential.save()
    target = job.target
    target.transport, target.address, target.port = "ssh", sshd.host, sshd.port
    target.root_path, target.credential, target.host_key_fingerprint = str(tmp_path), credential, ""
    target.save()
    result = run(job, "data.mirror", alice)
    assert result.status == "failed" and "empreinte" in result.summary


def test_it_leaves_the_step_status_alone_in_a_dry_run(located, alice):
    from migrations_app import actions

    step = located.steps.get(key="data.mirror")
    run_ = actions.start_run(step, alice, params={"dry_run": True})
    step.refresh_from_db()
    assert step.status == "todo"
    runner.execute(run_.pk, "test")
    step.refresh_from_db()
    assert step.status == "todo" and StepRun.objects.get(pk=run_.pk).status == "passed"


def test_it_verifies_a_phase_with_its_checks_and_simulations(located, alice):
    from tests.conftest import client_for

    client = client_for(alice)
    response = client.post(f"/jobs/{located.pk}/phases/3/verify/")
    assert response.status_code == 302
    runs = list(StepRun.objects.filter(step__job=located, step__phase=3))
    assert [(r.step.key, r.params) for r in runs] == [("data.mirror", {"dry_run": True})]
    for r in runs:
        runner.execute(r.pk, "test")
    assert not juliew(located.target).exists()
    response = client.post(f"/jobs/{located.pk}/phases/1/verify/")
    keys = set(
        StepRun.objects.filter(step__job=located, step__phase=1, params={}).values_list(
            "step__key", flat=True
        )
    )
    assert {"source.server_register", "source.pxdatas_snapshot", "source.extras"} <= keys
    assert AuditEvent.objects.filter(action="phase.verify").count() == 2


def test_it_refuses_a_simulation_of_a_step_without_one(job, alice):
    from tests.conftest import client_for

    step = job.steps.get(key="source.locate")
    response = client_for(alice).post(f"/jobs/{job.pk}/steps/{step.pk}/run/", {"dry_run": "1"})
    assert response.status_code == 400
    assert "simulation" in response.content.decode()
