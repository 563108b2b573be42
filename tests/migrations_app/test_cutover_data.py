"""The data side of the cut-over on real trees: pre-copies before the freeze, the final pass
after it; server.register never brought back by a re-run; the migrated tree equal to its source
by an independent comparison (diff -r), with no file of ours added; the services copy and the
pxdatas proof refused before the freeze or against a snapshot older than it."""

import shutil
import subprocess
from pathlib import Path

import pytest

from migrations_app import status
from migrations_app.execution import runner
from migrations_app.models import AuditEvent, StepRun
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def run(job, key, user, **params):
    step = job.steps.get(key=key)
    run = StepRun.objects.create(step=step, requested_by=user, queue="test", params=params)
    runner.execute(run.pk, "test")
    run.refresh_from_db()
    return run


def juliew(machine) -> Path:
    return Path(machine.root_path) / "partage" / "Juliew"


@pytest.fixture
def located(job, alice):
    assert run(job, "source.locate", alice).status == "passed"
    job.refresh_from_db()
    return job


def freeze_by_hand(job, user):
    status.finish_step_by_hand(
        job.steps.get(key="cutover.freeze"), user, "done", "Julie fermé partout, services arrêtés"
    )


def diff_r(a: Path, b: Path) -> list[str]:
    """GNU diff's own verdict on two trees (not our engine's): one line per difference."""
    assert shutil.which("diff"), "diffutils is needed for the independent comparison"
    out = subprocess.run(["diff", "-rq", str(a), str(b)], capture_output=True, text=True)
    assert out.returncode in (0, 1), out.stderr
    return out.stdout.splitlines()


def test_pre_copies_then_the_final_pass_after_the_freeze(located, alice):
    job = located
    first = run(job, "data.mirror", alice)
    assert first.status == "passed" and first.result["pre_copy"] is True
    assert first.summary.startswith("Pré-copie (avant le gel)")
    step = job.steps.get(key="data.mirror")
    assert step.status == "todo"  # a pre-copy does not pass the step
    page = client_for(alice).get(f"/jobs/{job.pk}/?step=data.mirror").content.decode()
    assert "pré-copie" in page
    freeze_by_hand(job, alice)
    final = run(job, "data.mirror", alice)
    assert final.status == "passed" and final.result["pre_copy"] is False
    assert final.summary.startswith("Passe finale (après le gel)")
    assert final.result["roots"][0]["files"]["copied"] == 0  # only what changed since
    assert job.steps.get(key="data.mirror").status == "passed"
    report = client_for(alice).get(f"/jobs/{job.pk}/report/").content.decode()
    assert "(pré-copie)" in report and "(passe finale)" in report


def test_server_register_never_comes_back_and_the_tree_equals_its_source(located, alice):
    job = located
    source, target = juliew(job.source), juliew(job.target)
    original = (source / "Datas" / "server.register").read_bytes()
    freeze_by_hand(job, alice)
    assert run(job, "data.mirror", alice).status == "passed"
    assert not (target / "Datas" / "server.register").exists()
    removed = run(job, "data.server_register", alice)
    assert removed.status == "passed", removed.summary
    assert removed.result["absent_on_target"] is True
    again = run(job, "data.mirror", alice)
    assert again.status == "passed", again.summary
    assert not (target / "Datas" / "server.register").exists()
    assert (source / "Datas" / "server.register").read_bytes() == original  # source untouched
    # diff -r: the only difference is server.register, on the source side; nothing added.
    assert diff_r(source, target) == [f"Only in {source / 'Datas'}: server.register"]
    assert not list(target.parent.rglob(".julieops*"))
    step = job.steps.get(key="data.server_register")
    assert step.status == "passed" and "absent" in step.summary
    event = AuditEvent.objects.get(action="data.server_register.remove")
    assert event.data["absent_on_target"] is True and event.data["sha256"] is None
    report = client_for(alice).get(f"/jobs/{job.pk}/report/").content.decode()
    assert "server.register déjà absent du nouveau Datas" in report


def test_a_rerun_needs_no_marker_to_accept_an_imaging_root_it_copied(located, alice, tmp_path):
    """An imaging root outside Juliew holds no Datas: the guard's memory of the first run is
    the database, not a file in the tree."""
    job = located
    imaging = Path(job.source.root_path) / "Imagerie"
    (imaging / "XRAY").mkdir(parents=True)
    (imaging / "XRAY" / "radio-001.dcm").write_bytes(b"DICM" * 100)
    job.discovered_paths = {**job.discovered_paths, "imaging_roots": ["Imagerie"]}
    job.save()
    freeze_by_hand(job, alice)
    assert run(job, "data.mirror", alice).status == "passed"
    copied = Path(job.target.root_path) / "Imagerie"
    assert diff_r(imaging, copied) == []
    (imaging / "XRAY" / "radio-002.dcm").write_bytes(b"DICM" * 50)
    again = run(job, "data.mirror", alice)
    assert again.status == "passed", again.summary
    assert diff_r(imaging, copied) == []


def test_the_services_copy_is_refused_before_the_freeze(located, alice):
    result = run(located, "data.services", alice)
    assert result.status == "failed"
    assert "se fait après le gel" in result.summary and "Geler l'ancien serveur" in result.summary


def test_the_pxdatas_proof_refuses_a_snapshot_older_than_the_freeze(located, alice):
    job = located
    assert run(job, "source.pxdatas_snapshot", alice).status == "passed"
    freeze_by_hand(job, alice)
    assert run(job, "data.mirror", alice).status == "passed"
    stale = run(job, "data.pxdatas", alice)
    assert stale.status == "failed" and "date d'avant le gel" in stale.summary
    assert run(job, "source.pxdatas_snapshot", alice).status == "passed"
    proof = run(job, "data.pxdatas", alice)
    assert proof.status == "passed", proof.summary
