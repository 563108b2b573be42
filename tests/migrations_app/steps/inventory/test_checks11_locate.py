"""source.locate on every drive of the old server (the demo's drives are the folders D, E…
beside its C): a path with spaces, imaging on another drive, a practice without XRAY, the
technician's corrections (audited)."""

import html
import shutil
from pathlib import Path

import pytest

from migrations_app.actions import ActionRefused
from migrations_app.execution import runner
from migrations_app.located_paths import confirm_absent, override_paths
from migrations_app.models import AuditEvent, StepRun

pytestmark = pytest.mark.django_db(transaction=True)


def run_step(job, user, key="source.locate"):
    run = StepRun.objects.create(step=job.steps.get(key=key), requested_by=user, queue="test")
    runner.execute(run.pk, "test")
    run.refresh_from_db()
    job.refresh_from_db()
    return run


def by_label(run):
    return {i["label"]: i for i in run.result["items"]}


@pytest.fixture
def c_drive(practice):
    return Path(practice.source.root_path)


def test_it_finds_julie_under_a_path_with_spaces_and_refuses_it(job, alice, c_drive):
    spaced = c_drive / "partage" / "Julie Data"
    spaced.mkdir()
    shutil.move(c_drive / "partage" / "Juliew", spaced / "Juliew")
    run = run_step(job, alice)
    assert run.status == "failed"
    line = by_label(run)["Chemin des données"]
    assert line["code"] == "datas_path_has_spaces"
    assert r"C:\partage\Julie Data\Juliew contient des espaces" in line["detail"]
    assert "sans espace" in line["detail"]
    assert by_label(run)["Datas"]["status"] == "ok"
    assert job.discovered_paths["julie_root"] == "partage/Julie Data/Juliew"
    assert job.discovered_paths["datas_path_has_spaces"] is True
    assert "espaces" in run.summary


def test_it_finds_imaging_on_another_drive(job, alice, c_drive):
    d_drive = c_drive.parent / "D"
    (d_drive / "Imagerie").mkdir(parents=True)
    for name in ("XRAY", "IMAGE"):
        shutil.move(c_drive / "partage" / "Juliew" / name, d_drive / "Imagerie" / name)
    run = run_step(job, alice)
    assert run.status == "warning", run.summary
    items = by_label(run)
    assert items["XRAY"]["status"] == "ok" and items["XRAY"]["drive"] == "D:"
    assert items["XRAY"]["windows_path"] == r"D:\Imagerie\XRAY"
    assert items["IMAGE"]["files"] > 0
    assert items["Imagerie sur D:"]["code"] == "imaging_on_other_drive"
    locations = job.discovered_paths["imaging_locations"]
    assert {"drive": "D:", "path": "Imagerie", "windows": r"D:\Imagerie"} in locations


def test_it_needs_a_person_to_confirm_a_missing_xray_before_the_copy(job, alice, bob, c_drive):
    shutil.rmtree(c_drive / "partage" / "Juliew" / "XRAY")
    run = run_step(job, alice)
    assert run.status == "failed"
    assert by_label(run)["XRAY"]["code"] == "folder_missing_unconfirmed"
    assert "XRAY" in run.summary
    with pytest.raises(ActionRefused) as refused:
        confirm_absent(job, alice, ["XRAY"], "  ")
    assert refused.value.status == 400
    with pytest.raises(ActionRefused):
        confirm_absent(job, alice, ["Datas"], "pas de données")
    confirm_absent(job, alice, ["xray"], "Le cabinet n'a pas de radiographie numérique.")
    event = AuditEvent.objects.get(action="source.locate.confirm_absent")
    assert event.category == "data" and event.actor == alice and event.data["folders"] == ["XRAY"]
    again = run_step(job, alice)
    assert again.status == "passed", again.summary
    line = by_label(again)["XRAY"]
    assert line["code"] == "folder_absence_confirmed" and "alice" in line["detail"]


def test_it_uses_the_technicians_paths_and_audits_them(job, alice, c_drive):
    copy = c_drive.parent / "E" / "Ancienne copie" / "Juliew"
    shutil.copytree(c_drive / "partage" / "Juliew", copy)
    with pytest.raises(ActionRefused):
        override_paths(job, alice, "partage/Juliew", [], "chemin relatif")
    override_paths(job, alice, r"C:\partage\Juliew", [r"C:\partage\Juliew"], "écran à propos")
    event = AuditEvent.objects.get(action="source.locate.override")
    assert event.data["after"]["julie_root"] == r"C:\partage\Juliew"
    run = run_step(job, alice)
    assert run.status == "passed", run.summary
    assert job.discovered_paths["julie_drive"] == "C:"
    assert job.discovered_paths["julie_root"] == "partage/Juliew"
    # The search alone finds both installations (the copy on E: is the newest written).
    assert r"E:\Ancienne copie\Juliew" in job.discovered_paths["installations"]
    override_paths(job, alice, r"Z:\Juliew", [], "erreur de frappe")
    assert run_step(job, alice).status == "failed"


def test_it_takes_internet_par_from_each_pyxvital_folder_julie_may_use(job, alice, c_drive):
    # Julie's program folder C:\Juliew holds its own Pyxvital, besides the data's.
    program = c_drive / "Juliew" / "Pyxvital"
    program.mkdir(parents=True)
    (program / "Internet.par").write_bytes(b"[Internet]\r\nFournisseur=Autre\r\n")
    assert run_step(job, alice).status == "passed"
    run = run_step(job, alice, "source.extras")
    assert run.status == "warning"
    found = [c["windows"] for c in run.result["extras"]["internet_par_all"]]
    assert found == [r"C:\partage\Juliew\Pyxvital\Internet.par", r"C:\Juliew\Pyxvital\Internet.par"]
    assert by_label(run)["Internet.par"]["code"] == "internet_par_differ"
    assert run.result["extras"]["internet_par"]["path"] == "partage/Juliew/Pyxvital/Internet.par"
    (program / "Internet.par").unlink()
    again = run_step(job, alice, "source.extras")
    assert again.status == "passed", again.summary


def test_it_corrects_the_paths_from_the_job_page_with_french_messages(job, alice, carol):
    from tests.conftest import client_for

    page = client_for(alice).get(f"/jobs/{job.pk}/")
    assert page.status_code == 200
    assert "Corriger les chemins" in page.content.decode()
    web = client_for(alice)
    bad = web.post(f"/jobs/{job.pk}/locate/override/", {"julie_root": "Juliew", "reason": "x"})
    assert bad.status_code == 400
    assert "n'est pas un chemin Windows" in html.unescape(bad.content.decode())
    no_reason = web.post(f"/jobs/{job.pk}/locate/confirm/", {"folders": ["XRAY"], "reason": ""})
    assert no_reason.status_code == 400
    assert "Une raison écrite est obligatoire." in html.unescape(no_reason.content.decode())
    assert web.post(f"/jobs/{job.pk}/locate/nope/", {"reason": "x"}).status_code == 404
    done = web.post(
        f"/jobs/{job.pk}/locate/override/",
        {"julie_root": r"C:\partage\Juliew", "imaging_roots": "", "reason": "écran à propos"},
    )
    assert done.status_code == 302
    job.refresh_from_db()
    assert job.discovered_paths["override"]["by"] == "alice"
    assert (
        client_for(carol)
        .post(f"/jobs/{job.pk}/locate/confirm/", {"folders": ["XRAY"], "reason": "x"})
        .status_code
        == 403
    )
    assert AuditEvent.objects.filter(action="source.locate.override").count() == 1
