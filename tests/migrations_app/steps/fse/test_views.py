"""Pages: the FSE timeline and its exports for an auditor, the decision form, incidents."""

import csv
import io
import json

import pytest
from django.core.files.base import ContentFile

from migrations_app import actions, incidents
from migrations_app.models import AuditEvent, Evidence, Incident
from migrations_app.steps import pxdatas
from tests.conftest import client_for
from tests.migrations_app.steps.fse.conftest import run_step, start_and_run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def purged(make_practice, alice, bob):
    """A job whose pxdatas was snapshotted, copied, then purged on a supervisor's decision."""
    p = make_practice(pending_fse=3)
    run_step(p, "source.pxdatas_snapshot", alice)
    p.mirror()
    step = p.step("data.pxdatas")
    pxdatas.request_decision(step, alice, pxdatas.PURGE, "FSE déjà télétransmises depuis l'ancien")
    actions.approve_step(step, bob, "ARL reçus pour les trois lots")
    assert start_and_run(step, alice).status == "passed"
    return p


def test_it_shows_the_fse_timeline_to_an_auditor(purged, carol, mallory):
    url = f"/customers/{purged.customer.pk}/fse/"
    page = client_for(carol).get(url).content.decode()
    for text in ("fse.snapshot", "fse.decision.request", "step.approve", "fse.purge",
                 "ARL reçus pour les trois lots", "pxdatas-source.json", "pxdatas-cible.json"):  # fmt: skip
        assert text in page, text
    assert client_for(mallory).get(url).status_code == 403
    assert client_for(carol).get(url + "?job=abc").status_code == 400


def test_it_exports_the_timeline_with_the_manifests(purged, carol):
    response = client_for(carol).get(f"/customers/{purged.customer.pk}/fse/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    events, _blank, files = text.partition("\r\n\r\n")
    rows = list(csv.DictReader(io.StringIO(events), delimiter=";"))
    purge = next(r for r in rows if r["action"] == "fse.purge")
    assert purge["who"] == "alice" and purge["reason"] == "ARL reçus pour les trois lots"
    assert purge["decision"] == "purge"
    manifest_rows = list(csv.reader(io.StringIO(files), delimiter=";"))[1:]
    evidence = Evidence.objects.get(name="pxdatas-source.json")
    document = json.loads(evidence.file.read())
    snapshot_rows = {(r[3], r[6]) for r in manifest_rows if r[2] == "pxdatas-source.json"}
    assert snapshot_rows == {(e["path"], e["sha256"]) for e in document["manifest"]}
    assert len(snapshot_rows) == 3


def test_it_prints_the_manifests_and_flags_an_altered_one(purged, carol):
    url = f"/customers/{purged.customer.pk}/fse/print/"
    page = client_for(carol).get(url).content.decode()
    evidence = Evidence.objects.get(name="pxdatas-source.json")
    for entry in json.loads(evidence.file.read())["manifest"]:
        assert entry["sha256"] in page and entry["path"] in page
    assert "altered" not in page and "badge fail" not in page
    with open(evidence.file.path, "ab") as f:
        f.write(b" ")
    assert "badge fail" in client_for(carol).get(url).content.decode()


def test_it_lets_only_the_right_roles_record_and_approve_a_decision(
    make_practice, alice, bob, carol
):
    p = make_practice()
    url = f"/jobs/{p.job.pk}/fse/decision/"
    assert client_for(carol).post(url, {"decision": "purge", "reason": "x"}).status_code == 403
    assert client_for(alice).post(url, {"decision": "purge", "reason": ""}).status_code == 400
    assert client_for(alice).post(url, {"decision": "nope", "reason": "x"}).status_code == 400
    response = client_for(alice).post(url, {"decision": "purge", "reason": "restauration ratée"})
    assert response.status_code == 302
    step = p.step("data.pxdatas")
    approve = f"/jobs/{p.job.pk}/steps/{step.pk}/approve/"
    assert client_for(alice).post(approve, {"note": "ok"}).status_code == 403
    assert client_for(carol).post(approve, {"note": "ok"}).status_code == 403
    assert client_for(bob).post(approve, {"note": "vu avec le cabinet"}).status_code == 302
    step.refresh_from_db()
    assert step.approved_by == bob
    page = client_for(carol).get(f"/jobs/{p.job.pk}/?step=data.pxdatas").content.decode()
    assert "restauration ratée" in page


def test_it_runs_an_incident_from_opening_to_export(purged, alice, carol, mallory):
    job = purged.job
    c = client_for(alice)
    response = c.post(
        f"/jobs/{job.pk}/incidents/new/",
        {"kind": "fse_resent", "cpam": "CPAM de l'Essonne", "description": "Rejet pour doublon"},
    )
    assert response.status_code == 302
    incident = Incident.objects.get()
    purge = AuditEvent.objects.get(action="fse.purge")
    manifest = Evidence.objects.get(name="pxdatas-source.json")
    base = f"/incidents/{incident.pk}/"
    assert (
        c.post(base + "link/", {"evidence": [manifest.pk], "events": [purge.pk]}).status_code == 302
    )
    assert c.post(base + "link/", {"evidence": ["x"]}).status_code == 400
    assert c.post(base + "note/", {"text": "Appel de la CPAM, lot 412"}).status_code == 302
    assert c.post(base + "note/", {"text": " "}).status_code == 400
    assert c.post(base + "frobnicate/", {}).status_code == 400
    assert client_for(carol).post(base + "note/", {"text": "lecture"}).status_code == 403
    assert c.post(base + "close/", {"resolution": ""}).status_code == 400
    assert c.post(base + "close/", {"resolution": "FSE annulées par la CPAM"}).status_code == 302
    incident.refresh_from_db()
    assert incident.status == "closed" and list(incident.evidence.all()) == [manifest]
    actions_done = list(
        AuditEvent.objects.filter(target=f"incident:{incident.pk}").values_list(
            "action", "category"
        )
    )
    assert actions_done == [("incident.open", "fse"), ("incident.link", "fse"),
                            ("incident.note", "fse"), ("incident.close", "fse")]  # fmt: skip

    page = client_for(carol).get(base).content.decode()
    assert "Appel de la CPAM, lot 412" in page and manifest.sha256 in page
    listing = client_for(carol).get("/incidents/?kind=fse_resent&status=closed").content.decode()
    assert "CPAM de l&#x27;Essonne" in listing
    assert (
        client_for(carol)
        .get("/incidents/?kind=sms_duplicate")
        .content.decode()
        .count(f'href="/incidents/{incident.pk}/"')
        == 0
    )
    assert client_for(carol).get("/incidents/?customer=abc").status_code == 400
    export = client_for(carol).get("/incidents/?format=csv").content.decode("utf-8-sig")
    row = list(csv.DictReader(io.StringIO(export), delimiter=";"))[0]
    assert row["cpam"] == "CPAM de l'Essonne" and manifest.sha256 in row["evidence"]
    assert "lot 412" in row["notes"]
    assert client_for(mallory).get("/incidents/").status_code == 403
    download = client_for(carol).get(f"/evidence/{manifest.pk}/")
    assert b"".join(download.streaming_content) == manifest.file.open("rb").read()


def test_it_refuses_linking_evidence_of_another_job(purged, alice):
    other_job = actions.create_job(
        alice, customer=purged.customer, site=purged.site, source=purged.target,
        target=purged.source, title="Autre migration",
    )  # fmt: skip
    foreign = Evidence(job=other_job, name="autre.json", size=2, sha256="0" * 64)
    foreign.file.save("autre.json", ContentFile(b"{}"), save=False)
    foreign.save()
    incident = incidents.open_incident(
        purged.job, alice, kind="other", cpam="", description="Données manquantes ?"
    )
    url = f"/incidents/{incident.pk}/link/"
    assert client_for(alice).post(url, {"evidence": [foreign.pk]}).status_code == 400
    assert client_for(alice).post(url, {}).status_code == 400
    assert incident.evidence.count() == 0
