"""The training practice played whole: the demo's training job, every step of the catalogue in
the procedure's order, automated ones run by a real Celery worker against the simulator (real
WinRM over HTTPS on loopback), manual ones ticked, approvals by a second person; then the
simulated posts' final state and the sign-off report are checked."""

import json
import os
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from migrations_app import actions
from migrations_app.choices import RunStatus, StepStatus
from migrations_app.management.commands.demo import training_practice
from migrations_app.models import StepRun
from migrations_app.signoff import build_report
from readers.models import AgentToken
from tests.conftest import client_for
from tests.support.worker import Worker, wait_for
from training import agent
from training.server import TrainingServer
from training.state import State

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def training(tmp_path, settings, alice, bob):
    folder = tmp_path / "training"
    settings.JULIEOPS_TRAINING_ROOTS = [str(folder)]
    job = training_practice(folder, bob, alice)
    queue = f"training-{os.getpid()}"
    job.site.worker_queue = queue
    job.site.save()
    env = {"JULIEOPS_TRAINING_ROOTS": str(folder), "JULIEOPS_ROBOCOPY_POLL_SECONDS": "0.2"}
    with TrainingServer(folder) as server:
        worker = Worker(queue, env=env).start()
        try:
            yield job, server, folder
        finally:
            worker.stop()


def play(step, alice, bob) -> StepRun | None:
    """Run an automated step (approved first by the other person when it asks), or tick a
    manual one; returns the finished run."""
    if not step.definition.is_automated():
        actions.tick_step(step, alice, "fait (répétition sur le cabinet d'entraînement)")
        return None
    try:
        run = actions.start_run(step, alice)
    except actions.ActionRefused as refused:
        assert refused.status == 403, (step.key, str(refused))
        actions.approve_step(step, bob, "répétition : preuve pxdatas vérifiée")
        run = actions.start_run(step, alice)
    run = wait_for(lambda: _finished(run), timeout=240, interval=0.3)
    step.refresh_from_db()
    if step.definition.approvable(step):
        # What the run proposes (Sms.db from the zip) waits for the other person's approval.
        with pytest.raises(actions.ActionRefused):
            actions.approve_step(step, alice, "je m'approuve")
        actions.approve_step(step, bob, "répétition : Sms.db du zip le plus récent")
        run = actions.start_run(step, alice)
        run = wait_for(lambda: _finished(run), timeout=240, interval=0.3)
    return run


def send_report(job, state, post):
    """The agent's report through the dashboard's API, with a token issued for the machine."""
    hostname = state.post(post)["hostname"]
    machine = job.site.machines.get(hostname=hostname)
    _token, secret = AgentToken.issue(machine)
    answer = Client().post(
        reverse("readers_report"),
        data=json.dumps(agent.report(state, post)),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert answer.status_code in (200, 201), answer.content


def _finished(run):
    run.refresh_from_db()
    return run if run.status in RunStatus.terminal() else None


def test_it_plays_every_step_of_the_training_job_to_a_signed_off_report(training, alice, bob):
    job, server, folder = training
    outcomes = {}
    for step in job.steps.order_by("order"):
        if step.key == "data.pxdatas":
            # The procedure's proof is against a snapshot taken after the freeze.
            again = play(job.steps.get(key="source.pxdatas_snapshot"), alice, bob)
            assert again.status == RunStatus.PASSED, again.summary
        if step.key == "install.clients":
            # What the step tells the technician to type in each user's session, then the post
            # agent's report from that session (new server included, for its readers).
            for post in ("poste-accueil", "poste-soins"):
                agent.map_drive(server.state, post, "J:", r"\\NOUVEAU-SERVEUR\partage")
            for post in ("nouveau-serveur", "poste-accueil", "poste-soins"):
                send_report(job, server.state, post)
        run = play(step, alice, bob)
        step.refresh_from_db()
        outcomes[step.key] = (step.status, run.summary if run else "")
        if run is not None:
            lines = [f"{line.level} {line.text}" for line in run.log_lines.order_by("seq")]
            assert run.status in (RunStatus.PASSED, RunStatus.WARNING), (
                [i for i in (run.result or {}).get("items", []) if i.get("status") == "fail"],
                step.key,
                run.status,
                run.summary,
                [i for i in (run.result or {}).get("items", []) if i.get("status") == "fail"],
                lines[-15:],
            )
    print(json.dumps(outcomes, ensure_ascii=False, indent=1))
    finished = {key: status for key, (status, _summary) in outcomes.items()}
    assert set(finished.values()) <= {StepStatus.PASSED, StepStatus.WARNING, StepStatus.DONE}
    assert finished["cutover.freeze"] == finished["cutover.retire_old"] == StepStatus.PASSED
    assert finished["data.mirror"] == finished["data.server_register"] == StepStatus.PASSED
    assert job.steps.get(key="data.services").approved_by == bob  # four eyes: not alice
    assert "Sms.db restauré depuis JulieServicesDb_" in outcomes["data.services"][1]
    assert build_report(job)["complete"]
    report = client_for(bob).get(reverse("job_report", args=[job.pk])).content.decode()
    assert "ANCIEN-SERVEUR (simulé)" in report and "rien n'est fait sur une vraie machine" in report
    state = State.load(folder)
    for post in ("ancien-serveur", "poste-sms"):
        for service in state.post(post)["services"]:
            assert (service["StartType"], service["Status"]) == ("Disabled", "Stopped"), service
    replay_the_field_capture(job)
    source = folder / "posts/ancien-serveur/C/partage/Juliew"
    target = folder / "posts/nouveau-serveur/C/partage/Juliew"
    assert not (target / "Datas/server.register").exists()
    assert (source / "Datas/server.register").exists()
    assert _files(target) == _files(source) - {("Datas", "server.register")}
    for rel in _files(target):
        assert (target.joinpath(*rel)).read_bytes() == (source.joinpath(*rel)).read_bytes(), rel


def _files(root) -> set[tuple]:
    """Every file below `root` as its path parts (an independent walk, not the mirror's)."""
    return {
        (*Path(folder).relative_to(root).parts, name)
        for folder, _dirs, names in os.walk(root)
        for name in names
    }


def replay_the_field_capture(job):
    """The training job's runs are ordinary runs: its field-capture bundle replays through the
    verdicts. Everything a step reads of a simulated post goes over WinRM (commands and files),
    so every run replays from its captures, but those whose inputs were not all kept (a file's
    content withheld, the card-reader agent's report): those say why and are not compared."""
    from migrations_app import capture_bundle

    manifest = capture_bundle.load_bundle_bytes(capture_bundle.bundle_bytes(job))
    results = capture_bundle.replay_bundle(manifest)
    text = capture_bundle.report(results)
    print(text)
    replayed = [r for r in results if not r.skipped]
    assert all(r.same and not r.unanswered for r in replayed), text
    assert {r.step for r in replayed} >= REPLAYED_AT_LEAST, text
    for result in results:
        if result.skipped:
            assert result.skipped.startswith(("contenu non conservé", "rapport de l'agent")), text


# The steps whose runs the training job's bundle must replay (what they read is all kept).
REPLAYED_AT_LEAST = {
    "source.locate",
    "target.hardware",
    "target.network",
    "target.share",
    "target.firewall",
    "target.antivirus",
    "target.admin_rights",
    "cutover.freeze",
    "data.mirror",
    "data.server_register",
    "cutover.retire_old",
    "install.verify",
}
