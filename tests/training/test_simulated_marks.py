"""Simulated posts are marked « simulé » on every page and report, never join a real job (nor
a real post a training job), are set only by the training setup, and take the files branch of
machines.py only when they are WinRM posts on loopback with a folder under the training roots."""

import html

import pytest
from django.urls import reverse

from migrations_app import actions
from migrations_app.choices import Transport
from migrations_app.execution import machines
from migrations_app.management.commands.demo import training_practice
from migrations_app.models import AuditEvent, Machine
from migrations_app.steps.registry import StepError
from tests.conftest import client_for


@pytest.fixture
def training(tmp_path, settings, alice, bob):
    folder = tmp_path / "training"
    settings.JULIEOPS_TRAINING_ROOTS = [str(folder)]
    return training_practice(folder, bob, alice)


def test_it_marks_simulated_posts_on_the_job_site_machine_pages_and_the_report(training, alice):
    client = client_for(alice)
    job = client.get(reverse("job_detail", args=[training.pk])).content.decode()
    assert "ANCIEN-SERVEUR (simulé)" in job and "NOUVEAU-SERVEUR (simulé)" in job
    assert "POSTE-ACCUEIL (simulé)" in job
    assert "Cabinet d'entraînement : chaque poste de cette migration est simulé" in job
    site = client.get(reverse("site_detail", args=[training.site_id])).content.decode()
    for name in ("ANCIEN-SERVEUR", "NOUVEAU-SERVEUR", "POSTE-SMS", "POSTE-ACCUEIL", "POSTE-SOINS"):
        assert f">{name} (simulé)</a>" in site
    page = client.get(reverse("machine_detail", args=[training.source_id])).content.decode()
    assert "<h1>ANCIEN-SERVEUR (simulé)</h1>" in page
    report = client.get(reverse("job_report", args=[training.pk])).content.decode()
    assert "ANCIEN-SERVEUR (simulé)" in report and "(simulé)</h1>" in report
    assert "rien n'est fait sur une vraie machine" in report


def test_a_real_job_page_says_nothing_of_simulation(job, alice):
    page = client_for(alice).get(reverse("job_detail", args=[job.pk])).content.decode()
    assert "simulé" not in page


def test_the_form_refuses_to_mix_simulated_and_real_posts(training, alice):
    real = Machine.objects.create(
        site=training.site, hostname="VRAI-SERVEUR", transport=Transport.WINRM, address="10.0.0.5"
    )
    client = client_for(alice)
    base = {"customer": training.customer_id, "site": training.site_id, "title": "mélange"}
    answer = client.post(
        reverse("job_create"), {**base, "source": training.source_id, "target": real.pk}
    )
    assert answer.status_code == 400
    assert "Un poste simulé (cabinet d'entraînement) ne peut pas entrer" in html.unescape(
        answer.content.decode()
    )
    answer = client.post(
        reverse("job_create"),
        {**base, "source": real.pk, "target": training.target_id},
    )
    assert answer.status_code == 400
    clients = [c.pk for c in training.clients.all()]
    mixed = {**base, "source": real.pk, "target": real.pk + 0, "clients": clients}
    other = Machine.objects.create(
        site=training.site, hostname="VRAI-NOUVEAU", transport=Transport.WINRM, address="10.0.0.6"
    )
    mixed["target"] = other.pk
    answer = client.post(reverse("job_create"), mixed)
    assert answer.status_code == 400
    assert "ne peut pas entrer dans une vraie migration" in html.unescape(answer.content.decode())
    assert not training.site.jobs.filter(title="mélange").exists()


def test_the_action_refuses_to_mix_them_too(training, alice):
    real = Machine.objects.create(
        site=training.site, hostname="VRAI-POSTE", transport=Transport.WINRM, address="10.0.0.7"
    )
    with pytest.raises(actions.ActionRefused) as refused:
        actions.create_job(
            alice,
            customer=training.customer,
            site=training.site,
            source=training.source,
            target=training.target,
            clients=[real],
        )
    assert refused.value.status == 400
    assert "poste simulé" in str(refused.value)


def test_the_flag_is_set_by_the_setup_only_and_its_confirmation_audited_as_such(training, bob):
    machine = training.source
    assert "simulated" not in machines.__dict__  # nothing to import: the form has no such field
    client = client_for(bob)
    page = client.get(reverse("machine_edit", args=[machine.pk])).content.decode()
    assert 'name="simulated"' not in page
    event = AuditEvent.objects.filter(action="machine.host_key_confirm", target=str(machine)).get()
    assert "mise en place" in event.reason and event.data["simulated"] is True


def test_the_files_branch_is_refused_to_a_simulated_post_off_loopback_or_off_the_roots(
    training, tmp_path, settings
):
    machine = training.source
    assert machines.endpoint_spec(machine, "partage/Juliew")[0].endswith("C/partage/Juliew")
    machine.address = "192.168.1.20"
    with pytest.raises(StepError, match="boucle locale"):
        machines.tree_for(machine)
    machine.address = "127.0.0.11"
    machine.root_path = str(tmp_path / "ailleurs")
    with pytest.raises(StepError, match="JULIEOPS_TRAINING_ROOTS"):
        machines.endpoint_spec(machine, "partage")
    machine.transport = Transport.LOCAL
    with pytest.raises(StepError, match="boucle locale"):
        machines.tree_for(machine)


def test_a_real_winrm_post_never_reads_the_simulator_folder(training):
    real = training.source
    real.simulated = False  # the same post as a real one: SMB C$, never the folder
    url, _kwargs = machines.endpoint_spec(real, "partage/Juliew")
    assert url == "smb://127.0.0.11/C$/partage/Juliew"
