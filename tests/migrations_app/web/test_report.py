"""The sign-off report: printable HTML and PDF with the checklist, operators, run times,
copy summaries, the FSE proof and open incidents."""

import hashlib
import sys

from django.core.files.base import ContentFile
from django.utils import timezone

from migrations_app import actions
from migrations_app.models import Evidence, Incident, JobStep, StepRun
from migrations_app.steps import pxdatas
from tests.conftest import client_for

MIRROR_RESULT = {
    "items": [],
    "summary": {
        "dirs": {"total": 41, "copied": 41, "skipped": 0, "mismatch": 0, "failed": 0, "extras": 0},
        "files": {"total": 8123, "copied": 8120, "skipped": 3, "mismatch": 0, "failed": 0, "extras": 2},
        "bytes": {"total": 987654321, "copied": 987000000, "skipped": 654321, "mismatch": 0, "failed": 0, "extras": 1024},
    },
}  # fmt: skip


def signed_off_job(job, alice, bob):
    now = timezone.now()
    mirror = job.steps.get(key="data.mirror")
    StepRun.objects.create(
        step=mirror, attempt=1, status="passed", requested_by=alice, worker="site-evry@nas:7",
        started_at=now - timezone.timedelta(minutes=75), finished_at=now, result=MIRROR_RESULT,
        summary="Copie terminée",
    )  # fmt: skip
    snapshot = job.steps.get(key="source.pxdatas_snapshot")
    run = StepRun.objects.create(step=snapshot, status="passed", requested_by=alice)
    content = b"PXDATAS manifest\n"
    evidence = Evidence(job=job, run=run, name="pxdatas-manifest.json", size=len(content))
    evidence.sha256 = hashlib.sha256(content).hexdigest()
    evidence.file.save("pxdatas-manifest.json", ContentFile(content), save=False)
    evidence.save()
    pxdatas.request_decision(job.steps.get(key="data.pxdatas"), alice, "purge", "ARL reçus")
    actions.approve_step(
        job.steps.get(key="data.pxdatas"), bob, "Aucune FSE en attente, reprise OK"
    )
    # post.cps comes after the card readers (done here by their step).
    JobStep.objects.filter(job=job, key="post.readers").update(status="passed")
    actions.tick_step(job.steps.get(key="post.cps"), alice, "CPS lue sur le poste accueil")
    Incident.objects.create(
        job=job, kind="fse_missing", description="Lot 18 absent côté CPAM", opened_by=alice
    )
    Incident.objects.create(job=job, kind="other", description="Réglé avant", status="closed")
    return evidence


def test_it_prints_the_checklist_operators_copies_fse_proof_and_incidents(job, alice, bob):
    evidence = signed_off_job(job, alice, bob)
    response = client_for(alice).get(f"/jobs/{job.pk}/report/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "css/report" in page  # the print stylesheet (no inline style: the CSP forbids it)
    assert "CPS lue sur le poste accueil" in page  # checklist note
    assert "1 h 15 min" in page and "site-evry@nas:7" in page  # run times
    assert ">8123<" in page and ">987654321<" in page and ">1024<" in page  # copy summary
    assert "pxdatas-manifest.json" in page and evidence.sha256 in page  # FSE proof
    assert "Aucune FSE en attente, reprise OK" in page and "bob" in page
    assert "Lot 18 absent côté CPAM" in page and "Réglé avant" not in page
    operators = {o["name"]: o["roles"] for o in response.context["operators"]}
    assert set(operators) == {"alice", "bob"}
    assert response.context["pdf_available"] is True
    assert f'href="/jobs/{job.pk}/report.pdf"' in page


def test_it_links_the_report_from_the_sign_off_step(job, alice):
    page = client_for(alice).get(f"/jobs/{job.pk}/?step=post.signoff").content.decode()
    assert page.count(f'href="/jobs/{job.pk}/report/"') == 2  # header and the step's panel


def test_it_exports_the_report_as_pdf(job, alice, bob):
    signed_off_job(job, alice, bob)
    response = client_for(alice).get(f"/jobs/{job.pk}/report.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-") and len(response.content) > 5000
    assert response["Content-Disposition"] == f'inline; filename="julieops-signoff-{job.pk}.pdf"'


def test_it_answers_501_and_hides_the_pdf_link_without_weasyprint(job, alice, monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint now fails
    client = client_for(alice)
    response = client.get(f"/jobs/{job.pk}/report.pdf")
    assert response.status_code == 501
    assert "PDF" in response.content.decode()
    assert "report.pdf" not in client.get(f"/jobs/{job.pk}/report/").content.decode()


def test_it_keeps_the_report_from_other_users(job, mallory, carol):
    assert client_for(mallory).get(f"/jobs/{job.pk}/report/").status_code == 403
    assert client_for(mallory).get(f"/jobs/{job.pk}/report.pdf").status_code == 403
    assert client_for(carol).get(f"/jobs/{job.pk}/report/").status_code == 200


def test_it_prints_the_head_of_the_audit_chain_as_an_anchor(job, alice):
    from migrations_app.models import AuditEvent

    page = client_for(alice).get(f"/jobs/{job.pk}/report/").content.decode()
    head = AuditEvent.objects.order_by("-id").first()
    assert head.hash in page and f"n° {head.id}" in page
