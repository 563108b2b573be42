"""Bad input on every form and action: a 4xx with a French message, never a 500,
never a half-made change."""

import pytest

from migrations_app.models import (
    AuditEvent,
    Cabinet,
    Customer,
    JobStep,
    Machine,
    MigrationJob,
    Site,
    StepRun,
)
from tests.conftest import client_for


def counts():
    return [
        m.objects.count()
        for m in (Customer, Cabinet, Site, Machine, MigrationJob, JobStep, StepRun, AuditEvent)
    ]


def test_it_refuses_an_empty_customer_in_french(alice):
    client = client_for(alice)
    before = counts()
    response = client.post("/customers/new/", {"name": ""})
    assert response.status_code == 400
    assert "Ce champ est obligatoire." in response.content.decode()
    assert counts() == before


def test_it_refuses_a_duplicate_site_name(job, alice):
    client = client_for(alice)
    before = counts()
    response = client.post(f"/customers/{job.customer.pk}/sites/new/", {"name": job.site.name})
    assert response.status_code == 400
    assert "déjà un site" in response.content.decode()
    assert counts() == before


@pytest.mark.parametrize(
    "data, message",
    [
        ({"hostname": "MAUVAIS NOM", "transport": "local", "root_path": "/tmp"}, "espaces"),
        ({"hostname": "PC2", "transport": "winrm"}, "adresse"),
        ({"hostname": "PC2", "transport": "local"}, "dossier"),
        (
            {"hostname": "PC2", "transport": "telnet", "root_path": "/tmp"},
            "Sélectionnez un choix valide",
        ),
        (
            {"hostname": "PC2", "transport": "local", "root_path": "/t", "port": "-3"},
            "supérieure ou égale",
        ),
        (
            {"hostname": "PC2", "transport": "local", "root_path": "/t", "roles": ["pirate"]},
            "Sélectionnez un choix valide",
        ),
    ],
)
def test_it_refuses_bad_machines(job, alice, data, message):
    client = client_for(alice)
    before = counts()
    response = client.post(f"/sites/{job.site.pk}/machines/new/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert counts() == before


def test_it_refuses_a_bad_ps_number(job, alice):
    response = client_for(alice).post(
        f"/customers/{job.customer.pk}/cabinets/new/", {"name": "Dr X", "ps_number": "12AB"}
    )
    assert response.status_code == 400
    assert "chiffres" in response.content.decode()


def test_it_refuses_a_job_whose_machines_are_on_another_site(job, practice, alice):
    other_site = Site.objects.create(customer=practice.customer, name="Autre")
    stranger = Machine.objects.create(
        site=other_site, hostname="ETRANGER", transport="local", root_path="/tmp"
    )
    client = client_for(alice)
    before = counts()
    response = client.post(
        "/jobs/new/",
        {
            "customer": practice.customer.pk,
            "site": practice.site.pk,
            "source": practice.source.pk,
            "target": stranger.pk,
        },
    )
    assert response.status_code == 400
    assert "site" in response.content.decode()
    assert counts() == before


def test_it_refuses_the_same_machine_as_old_and_new_server(practice, alice):
    client = client_for(alice)
    before = counts()
    response = client.post(
        "/jobs/new/",
        {
            "customer": practice.customer.pk,
            "site": practice.site.pk,
            "source": practice.source.pk,
            "target": practice.source.pk,
        },
    )
    assert response.status_code == 400
    assert "doit être différent" in response.content.decode()
    assert counts() == before


def test_it_refuses_unknown_ids_in_a_job(practice, alice):
    response = client_for(alice).post(
        "/jobs/new/", {"customer": 999999, "site": "x", "source": "", "target": "1; DROP"}
    )
    assert response.status_code == 400


def test_it_creates_a_job_with_its_checklist_from_the_form(practice, alice):
    response = client_for(alice).post(
        "/jobs/new/",
        {
            "customer": practice.customer.pk,
            "site": practice.site.pk,
            "source": practice.source.pk,
            "target": practice.target.pk,
            "clients": [practice.client.pk],
        },
    )
    assert response.status_code == 302
    job = MigrationJob.objects.get()
    assert job.steps.count() == 29 and list(job.clients.all()) == [practice.client]


@pytest.mark.parametrize(
    "key, action, data, status, message",
    [
        ("source.associated_services", "tick", {"note": "  "}, 400, "note est obligatoire"),
        ("source.associated_services", "skip", {}, 400, "raison est obligatoire"),
        ("source.associated_services", "run", {}, 409, "pas encore automatisée"),
        ("source.associated_services", "explode", {}, 400, "Action inconnue"),
        ("data.pxdatas", "skip", {"note": "pressé"}, 403, "ne peut pas être sautée"),
        ("data.pxdatas", "tick", {"note": "ok"}, 403, "approbation"),
        ("source.locate", "cancel", {"run": "abc"}, 404, ""),
        ("source.locate", "reopen", {"note": "x"}, 409, "rouverte"),
    ],
)
def test_it_refuses_bad_actions_without_changing_anything(
    job, alice, key, action, data, status, message
):
    step = job.steps.get(key=key)
    client = client_for(alice)
    before = counts()
    response = client.post(f"/jobs/{job.pk}/steps/{step.pk}/{action}/", data)
    assert response.status_code == status
    assert message in response.content.decode()
    assert counts() == before
    step.refresh_from_db()
    assert step.status == "todo"


def test_it_refuses_to_run_a_step_twice_at_once(job, alice):
    step = job.steps.get(key="source.locate")
    client = client_for(alice)
    assert client.post(f"/jobs/{job.pk}/steps/{step.pk}/run/").status_code == 302
    response = client.post(f"/jobs/{job.pk}/steps/{step.pk}/run/")
    assert response.status_code == 409
    assert "déjà" in response.content.decode()
    assert StepRun.objects.filter(step=step).count() == 1


def test_it_answers_404_for_unknown_objects(alice):
    client = client_for(alice)
    for url in ("/jobs/999999/", "/customers/999999/", "/sites/999999/", "/machines/999999/"):
        assert client.get(url).status_code == 404, url
