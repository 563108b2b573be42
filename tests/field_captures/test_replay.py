"""Field captures replayed through the verdicts.

Every bundle under `bundles/` (a zip, or the folder one was extracted to) is replayed: each
captured step run is run again, through the real runner, against a transport that answers
each script by name and order with the captured output; the verdict must be the recorded one.
A bundle from a real practice whose verdict changes says where our assumptions were wrong."""

import base64
import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command

from julieops.remote import winrm as file_scripts
from julieops.windows import firewall, inventory, network, robocopy_job
from migrations_app import capture_bundle
from migrations_app.models import AuditEvent
from migrations_app.steps.mirror import DESTINATION_STATE
from tests.conftest import client_for
from tests.migrations_app.steps.windows.conftest import PASSWORD, load, run_step
from tests.migrations_app.steps.windows.test_checks11_locate_winrm import windows_disk

pytestmark = pytest.mark.django_db(transaction=True)

BUNDLES = Path(__file__).parent / "bundles"
ROBOCOPY_LOG = Path(__file__).parents[1] / "fixtures/windows/robocopy/robocopy_fr_unilog.log"
FOUND = sorted(p for p in BUNDLES.iterdir() if p.suffix == ".zip" or p.is_dir())


def assert_same(results):
    changed = [d for r in results for d in r.differences]
    changed += [
        f"{r.step} : {r.after.get('summary')} {r.after.get('error')}" for r in results if not r.same
    ]
    changed += [f"{r.step} : {m}" for r in results for m in r.unanswered]
    assert not changed, "\n".join(changed)


@pytest.mark.parametrize("bundle", FOUND, ids=[p.name for p in FOUND])
def test_it_replays_each_bundle_to_its_recorded_verdicts(bundle, bob):
    manifest = capture_bundle.load_bundle(bundle)
    results = capture_bundle.replay_bundle(manifest, bob)
    assert len(results) == len(manifest["runs"]) > 0
    assert [r for r in results if not r.skipped], "no run of the bundle could be replayed"
    assert_same(results)


def test_the_suite_holds_at_least_one_bundle():
    assert FOUND, "tests/field_captures/bundles/ holds no bundle"


def practice_over_winrm(job, windows, practice):
    """The old server's C: served from the generated Julie tree; the new server and the
    client post answering the recorded samples the step tests use."""
    c_drive = Path(practice.source.root_path)
    answers = windows_disk({"C:": c_drive})

    def read_file(params):
        path = params["Path"].replace("\\", "/").partition(":")[2]
        return base64.b64encode((c_drive / path.strip("/")).read_bytes()).decode()

    answers[file_scripts.READ_FILE] = read_file
    windows.serve(job.source, answers)
    recorded = load("network_bad.json")
    hardware = load("inventory_fr.json")

    def target_answers(params):
        return load("firewall_ok.json" if params["Apply"] else "firewall_missing_8080.json")

    robocopy_log = ROBOCOPY_LOG.read_bytes()

    def robocopy_status(params):
        return {
            "State": "Ready",
            "ExitCode": 3,
            "Chunk": base64.b64encode(robocopy_log[params["Offset"] :]).decode(),
            "Size": len(robocopy_log),
        }

    windows.serve(
        job.target,
        {
            network.SCRIPT: recorded["NOUVEAU-SRV"],
            inventory.SCRIPT: hardware["NOUVEAU-SRV"],
            firewall.SCRIPT: target_answers,
            DESTINATION_STATE: {"Exists": False, "Entries": 0, "Julie": False},
            robocopy_job.START_SCRIPT: {"ExitFile": r"C:\ProgramData\JulieOps\jobs\t.exit"},
            robocopy_job.STATUS_SCRIPT: robocopy_status,
        },
    )
    windows.serve(
        job.clients.get(),
        {network.SCRIPT: recorded["ACCUEIL"], inventory.SCRIPT: hardware["ACCUEIL"]},
    )


STEPS = [
    "source.locate",
    "source.server_register",
    "target.hardware",
    "target.network",
    "target.firewall",
    "data.mirror",  # a pre-copy: robocopy.exe on the new server, its log read back
]


def download(user, job, reason="Vérifier les verdicts réseau du cabinet"):
    response = client_for(user).post(f"/jobs/{job.pk}/captures/", {"reason": reason})
    if response.status_code != 200:
        return response, b""
    assert response.streaming  # one output at a time, whatever the bundle's size
    pieces = list(response.streaming_content)
    assert len(pieces) > 1
    return response, b"".join(pieces)


def make_bundle(job, alice, bob, windows, practice) -> tuple[bytes, dict]:
    practice_over_winrm(job, windows, practice)
    verdicts = {}
    for key in STEPS:
        run = run_step(job, key, alice)
        assert run.status in ("passed", "warning", "failed"), (key, run.summary, run.error)
        verdicts[key] = run
    response, data = download(bob, job)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    return data, verdicts


def test_it_exports_a_bundle_through_the_download_view_and_replays_it(
    job, alice, bob, windows, practice
):
    data, verdicts = make_bundle(job, alice, bob, windows, practice)
    if os.environ.get("FIELD_CAPTURES_WRITE"):  # refresh the committed suite bundle
        (BUNDLES / "suite-winrm-checks.zip").write_bytes(data)
    assert verdicts["target.network"].status == "failed"  # the RDP session on the key host
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["schema"] == "julieops.field-capture" and manifest["version"] == 1
    assert manifest["product_version"] != ""
    assert [r["step"] for r in manifest["runs"]] == STEPS
    network_run = manifest["runs"][3]
    assert network_run["verdict"]["status"] == "failed"
    names = {e["name"] for r in manifest["runs"] for e in r["captures"]}
    assert {"machine.fixed_drives", "files.list_dir", "files.read"} <= names
    assert {"windows.network", "windows.inventory", "windows.firewall"} <= names
    assert {"robocopy.start", "robocopy.status", "mirror.destination_state"} <= names
    quser = next(e for e in network_run["captures"] if e["hostname"] == "NOUVEAU-SERVEUR")
    assert "secretariat" in archive.read(quser["output"]).decode()
    # Redacted: nothing secret, nothing naming the practice or its patients.
    everything = b"".join(archive.read(n) for n in archive.namelist()).decode()
    for absent in (
        PASSWORD,
        "julie-admin",
        "127.0.0.1",
        windows.fingerprint,
        job.customer.name,
        job.site.name,
        "Moreau",
        "Girard",
    ):
        assert absent not in everything, absent
    assert "DOCPATIENT" in everything and "NOUVEAU-SERVEUR" in everything
    start = next(
        e for r in manifest["runs"] for e in r["captures"] if e["name"] == "robocopy.start"
    )
    assert start["params"]["Password"] == "***"  # a PowerShell secret: its name only
    assert start["params"]["UserName"] == "[identifiant]"
    event = AuditEvent.objects.get(action="capture.export")
    assert event.actor == bob and event.reason == "Vérifier les verdicts réseau du cabinet"
    assert event.job_id == job.pk
    # Replayed from the downloaded bytes alone.
    bundle = BUNDLES.parent / "tmp-suite.zip"
    try:
        bundle.write_bytes(data)
        results = capture_bundle.replay_bundle(capture_bundle.load_bundle(bundle), bob)
    finally:
        bundle.unlink(missing_ok=True)
    assert [r.step for r in results] == STEPS
    assert_same(results)
    assert all(not r.unanswered for r in results)
    for result in results:
        assert result.after["status"] == verdicts[result.step].status


def test_a_changed_answer_fails_with_the_step_and_the_post(job, alice, bob, windows, practice):
    data, _verdicts = make_bundle(job, alice, bob, windows, practice)
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    manifest["runs"] = [r for r in manifest["runs"] if r["step"] == "target.network"]
    good = load("network_good.json")["NOUVEAU-SRV"]
    for entry in manifest["runs"][0]["captures"]:
        entry["output"] = archive.read(entry["output"]).decode()
        entry["stderr"] = ""
        if entry["hostname"] == "NOUVEAU-SERVEUR":
            # The same post, now without the Remote Desktop session: our reading changes.
            entry["output"] = "<<JULIEOPS-JSON>>" + json.dumps({"ok": True, "result": good})
    results = capture_bundle.replay_bundle(manifest, bob)
    message = "\n".join(results[0].differences)
    assert "le verdict a changé pour target.network sur NOUVEAU-SERVEUR : avant " in message
    assert "bureau à distance : fail" in message and "maintenant" in message


def test_a_missing_answer_is_named(job, alice, bob, windows, practice):
    data, _verdicts = make_bundle(job, alice, bob, windows, practice)
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    manifest["runs"] = [r for r in manifest["runs"] if r["step"] == "target.hardware"]
    manifest["runs"][0]["captures"] = [
        e for e in manifest["runs"][0]["captures"] if e["hostname"] != "POSTE-ACCUEIL"
    ]
    for entry in manifest["runs"][0]["captures"]:
        entry["output"] = zipfile.ZipFile(io.BytesIO(data)).read(entry["output"]).decode()
        entry["stderr"] = ""
    results = capture_bundle.replay_bundle(manifest, bob)
    assert results[0].unanswered == [
        "aucune sortie enregistrée pour « windows.inventory » sur POSTE-ACCUEIL"
    ]
    assert not results[0].same


def test_the_practice_s_names_are_masked_but_hostnames_stay_whole():
    redactor = capture_bundle.Redactor(
        names={"Cabinet Durand": "[client]", "Melun": "[site]"}, keep=["SRV-MELUN"]
    )
    assert redactor.words("SRV-MELUN du cabinet durand à Melun") == "SRV-MELUN du [client] à [site]"
    assert redactor.value({"label": "SRV-MELUN — Lecteur CPS du Cabinet Durand"}) == {
        "label": "SRV-MELUN — Lecteur CPS du [client]"
    }


def test_only_a_superviseur_downloads_and_a_reason_is_asked(job, alice, bob, carol, mallory):
    for user in (alice, carol, mallory):
        assert client_for(user).get(f"/jobs/{job.pk}/captures/").status_code == 403
        response, _data = download(user, job)
        assert response.status_code == 403
    page = client_for(bob).get(f"/jobs/{job.pk}/captures/")
    assert page.status_code == 200
    assert "Captures de terrain" in page.content.decode()
    assert "Télécharger le lot" in page.content.decode()
    assert "0 exécution d'étape capturée" in page.content.decode()
    response, _data = download(bob, job, reason="  ")
    assert response.status_code == 400
    assert "Indiquez pourquoi" in response.content.decode()
    assert not AuditEvent.objects.filter(action="capture.export").exists()
    assert "Captures de terrain" in client_for(bob).get(f"/jobs/{job.pk}/").content.decode()
    assert "Captures de terrain" not in client_for(alice).get(f"/jobs/{job.pk}/").content.decode()


def test_the_command_prints_the_comparison(bob, capsys):
    call_command("replay_capture", str(FOUND[0]))
    out = capsys.readouterr().out
    assert "verdict inchangé" in out
    assert "verdict(s) changé(s)" in out


def test_an_extracted_bundle_reads_like_its_zip(tmp_path):
    zipped = BUNDLES / "suite-winrm-checks.zip"
    with zipfile.ZipFile(zipped) as archive:
        archive.extractall(tmp_path)
    assert capture_bundle.load_bundle(tmp_path) == capture_bundle.load_bundle(zipped)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    manifest["runs"][0]["captures"][0]["output"] = "../../etc/passwd"
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="hors du lot"):
        capture_bundle.load_bundle(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"schema": "autre", "version": 1}))
    with pytest.raises(ValueError, match="capture de terrain JulieOps"):
        capture_bundle.load_bundle(tmp_path)
