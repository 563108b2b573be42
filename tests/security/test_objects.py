"""Object-level access: a run, a step or a job's object is reachable only through its own job."""

import re

from migrations_app import actions
from migrations_app.models import AuditEvent, StepRun
from tests.conftest import client_for

from .conftest import make_world


def other_job(practice, alice):
    return actions.create_job(
        alice,
        customer=practice.customer,
        site=practice.site,
        source=practice.source,
        target=practice.target,
        title="Autre migration",
    )


def test_it_does_not_show_a_run_through_another_jobs_url(world, practice, alice):
    other = other_job(practice, alice)
    client = client_for(alice)
    assert client.get(f"/jobs/{world.job.pk}/runs/{world.run.pk}/log/").status_code == 286
    assert client.get(f"/jobs/{other.pk}/runs/{world.run.pk}/log/").status_code == 404
    # Nor through the job page's run selector.
    page = client.get(f"/jobs/{other.pk}/?step=source.locate&run={world.run.pk}")
    assert page.status_code == 200 and "ligne 1" not in page.content.decode()


def test_it_does_not_act_on_a_step_through_another_jobs_url(world, practice, alice):
    other = other_job(practice, alice)
    client = client_for(alice)
    before = AuditEvent.objects.count()
    for action in ("tick", "skip", "run", "approve", "reopen", "cancel"):
        url = f"/jobs/{other.pk}/steps/{world.step.pk}/{action}/"
        assert client.post(url, {"note": "mauvais dossier"}).status_code == 404, action
    world.step.refresh_from_db()
    assert world.step.status == "todo" and AuditEvent.objects.count() == before


def test_it_does_not_cancel_another_steps_run_through_a_step_url(world, alice):
    running = StepRun.objects.create(
        step=world.job.steps.get(key="source.locate"), status="running", queue="test"
    )
    url = f"/jobs/{world.job.pk}/steps/{world.step.pk}/cancel/"
    response = client_for(alice).post(url, {"run": running.pk, "note": "stop"})
    assert response.status_code == 404
    running.refresh_from_db()
    assert not running.cancel_requested


def test_it_keeps_each_jobs_runs_and_evidence_apart_in_its_pages(world, practice, alice, tmp_path):
    second = make_world(other_job(practice, alice), alice)
    client = client_for(alice)
    page = client.get(f"/incidents/{second.incident.pk}/").content.decode()
    offered = re.search(r'<select name="evidence".*?</select>', page, re.S).group(0)
    assert f'value="{second.evidence.pk}"' in offered  # the job's evidence, for linking
    assert f'value="{world.evidence.pk}"' not in offered
    audit = client.get(f"/audit/?job={second.job.pk}").content.decode()
    assert "Autre migration" in audit and "Migration de test" not in audit
