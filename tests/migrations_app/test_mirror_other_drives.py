"""data.mirror carries every imaging root source.locate found, on any drive of the old server
(the demo's drives are the folders D, E… beside its C), to the same drive of the new server;
a new server without that drive is refused before anything is copied."""

import shutil
from pathlib import Path

import pytest

from migrations_app import cutover_window, status
from migrations_app.execution import runner
from migrations_app.models import StepRun
from tests.migrations_app.test_cutover_data import diff_r

pytestmark = pytest.mark.django_db(transaction=True)


def run(job, key, user, **params):
    step = job.steps.get(key=key)
    run = StepRun.objects.create(step=step, requested_by=user, queue="test", params=params)
    runner.execute(run.pk, "test")
    run.refresh_from_db()
    job.refresh_from_db()
    return run


@pytest.fixture
def imaging_on_d(job, alice):
    """XRAY and IMAGE moved from C:\\partage\\Juliew to D:\\Imagerie on the old server."""
    c_drive = Path(job.source.root_path)
    d_imaging = c_drive.parent / "D" / "Imagerie"
    d_imaging.mkdir(parents=True)
    for name in ("XRAY", "IMAGE"):
        shutil.move(c_drive / "partage" / "Juliew" / name, d_imaging / name)
    located = run(job, "source.locate", alice)
    assert located.status == "warning", located.summary
    return d_imaging


def test_it_refuses_when_the_new_server_lacks_the_drive_and_copies_nothing(
    job, alice, imaging_on_d
):
    result = run(job, "data.mirror", alice)
    assert result.status == "failed"
    assert "n'a pas de lecteur D:" in result.summary
    assert r"D:\Imagerie" in result.summary and "rien n'a été copié" in result.summary
    target_c = Path(job.target.root_path)
    assert not (target_c / "partage" / "Juliew").exists()


def test_it_mirrors_imaging_on_another_drive_to_the_same_drive(job, alice, imaging_on_d):
    target_d = Path(job.target.root_path).parent / "D"
    target_d.mkdir()
    first = run(job, "data.mirror", alice)
    assert first.status == "passed", (first.summary, first.error)
    roots = {(r["drive"], r["root"]): r for r in first.result["roots"]}
    assert set(roots) == {("C:", "partage/Juliew"), ("D:", "Imagerie")}
    assert roots[("D:", "Imagerie")]["files"]["copied"] > 0
    assert "2 racine(s) (C:\\partage\\Juliew, D:\\Imagerie)" in first.summary
    labels = {i["label"] for i in first.result["items"]}
    assert r"D:\Imagerie" in labels and r"C:\partage\Juliew" in labels
    assert diff_r(imaging_on_d, target_d / "Imagerie") == []
    # The same guards: the server.register exclusion belongs to the Julie root only, and the
    # re-run (the final pass after the freeze) copies only what changed on D: too.
    (imaging_on_d / "XRAY" / "radio-nouvelle.dcm").write_bytes(b"DICM" * 64)
    extra = target_d / "Imagerie" / "IMAGE" / "reste.jpg"
    extra.write_bytes(b"x")
    status.finish_step_by_hand(job.steps.get(key="cutover.freeze"), alice, "done", "gelé")
    final = run(job, "data.mirror", alice)
    assert final.status == "passed" and final.result["pre_copy"] is False, final.summary
    d_root = next(r for r in final.result["roots"] if r["drive"] == "D:")
    assert d_root["files"]["copied"] == 1 and d_root["files"]["extras"] == 1
    assert diff_r(imaging_on_d, target_d / "Imagerie") == []
    # The cut-over window counts the D: root's entries in the pre-copy it estimates from.
    window = cutover_window.for_job(job)
    assert window["estimate"] is not None and window["actual"] is not None
    pre = first.result["roots"]
    entries = sum(r["files"]["total"] + r["dirs"]["total"] for r in pre)
    c_only = sum(r["files"]["total"] + r["dirs"]["total"] for r in pre if r["drive"] == "C:")
    assert window["estimate"].entries == entries > c_only


def test_a_dry_run_lists_the_other_drive_and_changes_nothing(job, alice, imaging_on_d):
    target_d = Path(job.target.root_path).parent / "D"
    target_d.mkdir()
    dry = run(job, "data.mirror", alice, dry_run=True)
    assert dry.status == "passed", dry.summary
    assert any(r["drive"] == "D:" and r["files"]["copied"] > 0 for r in dry.result["roots"])
    assert list(target_d.iterdir()) == []


def test_a_data_path_with_spaces_is_refused_by_the_copy_with_what_to_do(job, alice):
    c_drive = Path(job.source.root_path)
    spaced = c_drive / "partage" / "Julie Data"
    spaced.mkdir()
    shutil.move(c_drive / "partage" / "Juliew", spaced / "Juliew")
    assert run(job, "source.locate", alice).status == "failed"
    result = run(job, "data.mirror", alice)
    assert result.status == "failed"
    assert r"C:\partage\Julie Data\Juliew" in result.summary
    assert "interdit les espaces" in result.summary and "rien n'a été copié" in result.summary
    assert "Localiser les données Julie" in result.summary
    assert not (Path(job.target.root_path) / "partage").exists()


def test_the_copy_uses_the_technicians_paths_once_the_search_checked_them(job, alice):
    from migrations_app.located_paths import override_paths

    c_drive = Path(job.source.root_path)
    assert run(job, "source.locate", alice).status == "passed"
    # The data Julie really uses (its « about » screen) were moved to C:\Cabinet\Juliew.
    (c_drive / "Cabinet").mkdir()
    shutil.move(c_drive / "partage" / "Juliew", c_drive / "Cabinet" / "Juliew")
    override_paths(job, alice, r"C:\Cabinet\Juliew", [], "écran « à propos » de Julie")
    refused = run(job, "data.mirror", alice)
    assert refused.status == "failed"
    assert "corrigés par alice" in refused.summary and "relancez" in refused.summary
    assert not (Path(job.target.root_path) / "Cabinet").exists()
    assert run(job, "source.locate", alice).status == "passed"
    copied = run(job, "data.mirror", alice)
    assert copied.status == "passed", copied.summary
    assert [(r["drive"], r["root"]) for r in copied.result["roots"]] == [("C:", "Cabinet/Juliew")]
    source, target = (
        c_drive / "Cabinet" / "Juliew",
        Path(job.target.root_path) / "Cabinet" / "Juliew",
    )
    assert diff_r(source, target) == [f"Only in {source / 'Datas'}: server.register"]


def test_install_verify_expects_the_imaging_where_the_copy_put_it(job, alice, imaging_on_d):
    from migrations_app.steps.installation import migrated_paths

    datas, imaging = migrated_paths(job)
    assert datas == r"C:\partage\Juliew\Datas"
    assert r"D:\Imagerie" in imaging
