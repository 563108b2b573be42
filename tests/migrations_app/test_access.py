"""Roles decide who may act (the URL walk, role matrix and CSRF sweep: tests/security)."""

import pytest

from migrations_app.models import AuditEvent, JobStep
from migrations_app.steps import pxdatas
from tests.conftest import client_for


def test_it_lets_the_auditor_read_but_not_act(job, carol):
    client = client_for(carol)
    assert client.get(f"/jobs/{job.pk}/").status_code == 200
    assert client.get("/audit/").status_code == 200
    step = job.steps.get(key="source.associated_services")
    response = client.post(f"/jobs/{job.pk}/steps/{step.pk}/tick/", {"note": "vu"})
    assert response.status_code == 403
    assert client.post("/customers/new/", {"name": "X"}).status_code == 403
    assert client.get("/credentials/new/").status_code == 403
    step.refresh_from_db()
    assert step.status == "todo"


def test_it_refuses_an_approval_by_a_technician(job, alice):
    step = job.steps.get(key="data.pxdatas")
    client = client_for(alice)
    before = AuditEvent.objects.count()
    response = client.post(f"/jobs/{job.pk}/steps/{step.pk}/approve/", {"note": "je valide"})
    assert response.status_code == 403
    assert "superviseur" in response.content.decode()
    step.refresh_from_db()
    assert step.approved_by is None
    assert AuditEvent.objects.count() == before


def test_it_lets_a_supervisor_approve_with_a_reason(job, alice, bob):

    step = job.steps.get(key="data.pxdatas")
    pxdatas.request_decision(step, alice, "purge", "FSE déjà transmises, ARL reçus")
    response = client_for(bob).post(
        f"/jobs/{job.pk}/steps/{step.pk}/approve/", {"note": "pxdatas vidé : ARL reçus"}
    )
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.approved_by.username == "bob"
    event = AuditEvent.objects.get(action="step.approve")
    assert event.actor_name == "bob" and event.reason == "pxdatas vidé : ARL reçus"
    assert event.category == "fse" and event.job == job


def test_it_records_who_ticked_a_manual_step_and_why(job, alice):
    step = job.steps.get(key="source.associated_services")
    response = client_for(alice).post(
        f"/jobs/{job.pk}/steps/{step.pk}/tick/", {"note": "SMS, RDV, Backup"}
    )
    assert response.status_code == 302
    step = JobStep.objects.get(pk=step.pk)
    assert (step.status, step.done_by.username, step.note) == ("done", "alice", "SMS, RDV, Backup")
    assert AuditEvent.objects.filter(action="step.tick", actor_name="alice").exists()


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_it_accepts_actions_only_by_post(job, alice, method):
    step = job.steps.first()
    response = getattr(client_for(alice), method)(f"/jobs/{job.pk}/steps/{step.pk}/tick/")
    assert response.status_code == 405
