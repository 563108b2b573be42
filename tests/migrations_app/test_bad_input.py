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


def test_the_job_form_offers_only_the_customers_sites_and_the_sites_machines(job, practice, alice):
    other_customer = Customer.objects.create(name="Autre cabinet")
    other_site = Site.objects.create(customer=other_customer, name="Ailleurs")
    stranger = Machine.objects.create(
        site=other_site, hostname="ETRANGER", transport="local", root_path="/tmp"
    )
    client = client_for(alice)
    empty = client.get("/jobs/new/").content.decode()
    assert "ETRANGER" not in empty and practice.source.hostname not in empty
    assert "Choisissez d&#x27;abord le client" in empty or "Choisissez d'abord le client" in empty
    chosen = client.get(
        f"/jobs/new/?customer={practice.customer.pk}", HTTP_HX_REQUEST="true"
    ).content.decode()
    # Within the site select (the customer select holds ids too).
    sites = chosen[chosen.index('name="site"') :]
    sites = sites[: sites.index("</select>")]
    assert f'value="{practice.site.pk}"' in sites and f'value="{other_site.pk}"' not in sites
    assert 'hx-get="/jobs/new/"' in chosen and 'hx-select="#job-fields"' in chosen
    page = client.get(
        f"/jobs/new/?customer={practice.customer.pk}&site={practice.site.pk}"
    ).content.decode()
    assert practice.source.hostname in page and practice.target.hostname in page
    assert "ETRANGER" not in page
    # A site of another customer is not taken as chosen.
    mixed = client.get(f"/jobs/new/?customer={practice.customer.pk}&site={other_site.pk}")
    assert "ETRANGER" not in mixed.content.decode()
    assert stranger.pk


def test_a_mismatch_is_named_on_its_field_in_french(job, practice, alice):
    other_customer = Customer.objects.create(name="Autre cabinet")
    other_site = Site.objects.create(customer=other_customer, name="Ailleurs")
    response = client_for(alice).post(
        "/jobs/new/",
        {
            "customer": practice.customer.pk,
            "site": other_site.pk,
            "source": practice.source.pk,
            "target": practice.target.pk,
        },
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["site"] == ["Ce site appartient à un autre client."]


def test_a_job_carries_its_planned_cut_over(practice, alice):
    response = client_for(alice).post(
        "/jobs/new/",
        {
            "customer": practice.customer.pk,
            "site": practice.site.pk,
            "source": practice.source.pk,
            "target": practice.target.pk,
            "cutover_date": "2026-12-04",
            "cutover_slot": "evening",
            "assignee": alice.pk,
        },
    )
    assert response.status_code == 302
    job = MigrationJob.objects.get()
    assert str(job.cutover_date) == "2026-12-04" and job.cutover_slot == "evening"
    assert job.assignee == alice
