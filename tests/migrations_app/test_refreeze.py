"""A freeze redone after the final pass (after an unfreeze, or again): the final mirror pass
and what counts only after the freeze (pxdatas proof, server.register removal, services copy)
no longer count; the steps after them are closed again until a new final pass, and the pxdatas
proof wants a snapshot taken after the new freeze."""

import pytest

from migrations_app import actions, cutover_window
from migrations_app.actions import ActionRefused
from migrations_app.execution import runner
from migrations_app.models import AuditEvent, StepRun

pytestmark = pytest.mark.django_db(transaction=True)

AFTER = ("data.mirror", "data.pxdatas", "data.server_register")


def run(job, key, user, **params):
    step = job.steps.get(key=key)
    run = StepRun.objects.create(step=step, requested_by=user, queue="test", params=params)
    runner.execute(run.pk, "test")
    run.refresh_from_db()
    job.refresh_from_db()
    return run


def status_of(job, key):
    return job.steps.get(key=key).status


@pytest.fixture
def cut_over(job, alice):
    """Located, frozen (ticked: the demo's machines are local), final pass, pxdatas proven,
    server.register removed."""
    for key in ("source.locate", "source.server_register", "source.pxdatas_snapshot"):
        assert run(job, key, alice).status in ("passed", "warning"), key
    actions.tick_step(job.steps.get(key="cutover.freeze"), alice, "Julie fermé, services arrêtés")
    assert run(job, "source.pxdatas_snapshot", alice).status == "passed"
    final = run(job, "data.mirror", alice)
    assert final.status == "passed" and final.result["pre_copy"] is False
    assert run(job, "data.pxdatas", alice).status == "passed"
    assert run(job, "data.server_register", alice).status == "passed"
    assert all(status_of(job, k) == "passed" for k in AFTER)
    return job


def test_a_freeze_redone_sends_the_final_pass_and_what_follows_back_to_do(cut_over, alice):
    job = cut_over
    actions.tick_step(job.steps.get(key="cutover.freeze"), alice, "gel refait après report")
    for key in AFTER:
        step = job.steps.get(key=key)
        assert step.status == "todo", key
        assert "Ne compte plus : « Geler l'ancien serveur" in step.summary
        assert "à refaire après le gel en vigueur" in step.summary
    event = AuditEvent.objects.get(action="cutover.restarted")
    assert event.data["reset"] == list(AFTER) and event.actor == alice
    assert cutover_window.for_job(job)["frozen_at"] == job.steps.get(key="cutover.freeze").done_at
    # What depends on the final pass is refused again, naming it.
    with pytest.raises(ActionRefused) as refused:
        actions.start_run(job.steps.get(key="data.pxdatas"), alice)
    assert refused.value.status == 409 and "Copie miroir des données" in str(refused.value)
    # The sign-off report says the earlier final pass no longer counts.
    from tests.conftest import client_for

    report = client_for(alice).get(f"/jobs/{job.pk}/report/").content.decode()
    assert "(passe finale qui ne compte plus : l'ancien serveur a été regelé" in report
    assert "(passe finale)" not in report
    # A new final pass; the pxdatas snapshot of before the new freeze no longer proves anything.
    again = run(job, "data.mirror", alice)
    assert again.status == "passed" and again.result["pre_copy"] is False
    assert status_of(job, "data.mirror") == "passed"
    stale = run(job, "data.pxdatas", alice)
    assert stale.status == "failed" and "date d'avant le gel" in stale.summary
    assert run(job, "source.pxdatas_snapshot", alice).status == "passed"
    assert run(job, "data.pxdatas", alice).status == "passed"
    report = client_for(alice).get(f"/jobs/{job.pk}/report/").content.decode()
    assert report.count("(passe finale)") == 1


def test_an_unfreeze_also_ends_the_final_pass(cut_over, alice, bob):
    from migrations_app import status

    job = cut_over
    # The unfreeze's own run needs Windows; ticked here as a superviseur would record it.
    unfreeze = job.steps.create(key="cutover.unfreeze", phase=3, order=100, kind="auto")
    status.finish_step_by_hand(unfreeze, bob, "done", "bascule reportée, dégel fait à la main")
    assert [status_of(job, k) for k in AFTER] == ["todo"] * 3
    # The cut-over window no longer counts from the freeze undone.
    assert cutover_window.for_job(job)["frozen_at"] is None
    # Until a new freeze, the final pass is a pre-copy again.
    pre = run(job, "data.mirror", alice)
    assert pre.status == "passed" and pre.result["pre_copy"] is True
    assert status_of(job, "data.mirror") == "todo"


def test_a_skip_stays_a_skip(cut_over, alice):
    job = cut_over
    services = job.steps.get(key="data.services")
    actions.skip_step(services, alice, "le cabinet n'a aucun service Julie")
    actions.tick_step(job.steps.get(key="cutover.freeze"), alice, "gel refait")
    assert status_of(job, "data.services") == "skipped"
