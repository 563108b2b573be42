"""The training practice rehearsed in a real browser: a technician (alice) plays the whole
migration of « Cabinet d'entraînement » in the procedure's order, cut-over included, pressing
« Lancer » on each automated step (a real worker runs it against the simulated posts over
WinRM) and ticking the manual ones; the superviseur (bob) approves what the technician's run
proposed (four eyes); the sign-off report says every step is finished and shows « simulé ».
Screenshots in test-artifacts/training-*.png."""

import re

import pytest
from playwright.sync_api import expect

from migrations_app.choices import RunStatus, StepStatus
from migrations_app.management.commands.demo import training_practice
from readers.models import AgentToken
from tests.e2e.test_browser import log_in
from tests.support.browser import chromium
from tests.support.worker import Worker, wait_for
from training import agent
from training.server import TrainingServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
NOTE = "Note (obligatoire pour cocher, sauter ou approuver)"


@pytest.fixture
def training(tmp_path, settings, alice, bob):
    folder = tmp_path / "training"
    settings.JULIEOPS_TRAINING_ROOTS = [str(folder)]
    job = training_practice(folder, bob, alice)
    env = {
        "JULIEOPS_TRAINING_ROOTS": str(folder),
        "JULIEOPS_ROBOCOPY_POLL_SECONDS": "0.2",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    with TrainingServer(folder) as server:
        worker = Worker(env=env).start()
        job.site.worker_queue = worker.queue
        job.site.save()
        try:
            yield job, server
        finally:
            worker.stop()


def switch(page, base, username):
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile(r"/login/"))
    log_in(page, base, username)


def run_in_browser(page, base, job, key, *, check=True):
    """Press Lancer (or Relancer) and wait for the run's outcome on the page."""
    step = job.steps.get(key=key)
    before = step.runs.count()
    page.goto(f"{base}/jobs/{job.pk}/?step={key}")
    page.get_by_role("button", name=re.compile("^(Lancer|Relancer)$")).click()
    expect(page.get_by_text("Étape envoyée aux exécuteurs.")).to_be_visible()
    run = wait_for(
        lambda: (
            step.runs.filter(status__in=RunStatus.terminal()).count() > before
            and step.runs.order_by("-pk").first()
        ),
        timeout=240,
        interval=0.5,
    )
    page.goto(f"{base}/jobs/{job.pk}/?step={key}")
    badge = page.locator("#run-status .badge")
    expect(badge.first).to_be_visible()
    if check:
        assert run.status in (RunStatus.PASSED, RunStatus.WARNING), (key, run.status, run.summary)
    return run


def test_it_rehearses_the_training_migration_in_the_browser(
    live_server, plain_static, training, alice, bob
):
    job, server = training
    base = live_server.url
    shots = set()
    with chromium() as browser:
        page = browser.page
        log_in(page, base, "alice")
        page.goto(f"{base}/jobs/{job.pk}/")
        expect(page.locator("h1 .badge.simulated")).to_have_text("simulé")
        expect(page.locator("[data-training]")).to_contain_text("Cabinet d'entraînement")
        browser.shot("training-01-migration")
        for step in job.steps.order_by("order"):
            key = step.key
            if key == "data.pxdatas":
                # The proof is against a snapshot taken after the freeze: take it again.
                run_in_browser(page, base, job, "source.pxdatas_snapshot")
            if key == "install.clients":
                # In each user's session: the drive the step asks for, then the post agent.
                for post in ("poste-accueil", "poste-soins"):
                    agent.map_drive(server.state, post, "J:", r"\\NOUVEAU-SERVEUR\partage")
                for post in ("nouveau-serveur", "poste-accueil", "poste-soins"):
                    machine = job.site.machines.get(hostname=server.state.post(post)["hostname"])
                    _token, secret = AgentToken.issue(machine, alice)
                    agent.send(server.state, post, f"{base}/api/readers/report/", secret)
            if not step.definition.is_automated():
                page.goto(f"{base}/jobs/{job.pk}/?step={key}")
                page.get_by_label(NOTE).fill("fait pendant la répétition")
                page.get_by_role("button", name="Cocher comme faite").click()
                expect(page.get_by_text("Étape cochée.")).to_be_visible()
                continue
            run = run_in_browser(page, base, job, key, check=False)
            if key in ("cutover.freeze", "data.mirror", "cutover.retire_old") and key not in shots:
                shots.add(key)
                browser.shot(f"training-02-{key.replace('.', '-')}")
            step.refresh_from_db()
            if not step.definition.approvable(step):
                assert run.status in (RunStatus.PASSED, RunStatus.WARNING), (key, run.summary)
            else:
                # Four eyes: the technician's run proposed it, the superviseur approves.
                page.goto(f"{base}/jobs/{job.pk}/?step={key}")
                expect(page.get_by_role("button", name=re.compile("^Approuver"))).to_have_count(0)
                switch(page, base, "bob")
                page.goto(f"{base}/jobs/{job.pk}/?step={key}")
                page.get_by_label(NOTE).fill("Sms.db du zip le plus récent : vérifié")
                page.get_by_role("button", name=re.compile("^Approuver")).click()
                expect(page.get_by_text("Étape approuvée.")).to_be_visible()
                browser.shot("training-03-approbation")
                switch(page, base, "alice")
                run_in_browser(page, base, job, key)
        statuses = set(job.steps.values_list("status", flat=True))
        assert statuses <= {StepStatus.PASSED, StepStatus.WARNING, StepStatus.DONE}, statuses
        page.goto(f"{base}/jobs/{job.pk}/")
        browser.shot("training-04-migration-terminee")
        page.goto(f"{base}/jobs/{job.pk}/report/")
        expect(page.locator("h1")).to_contain_text("(simulé)")
        expect(page.locator("body")).to_contain_text("ANCIEN-SERVEUR (simulé)")
        expect(page.locator("body")).not_to_contain_text("Liste de contrôle incomplète.")
        summary = page.locator("body > p", has_text="étapes terminées").inner_text()
        print("REPORT SUMMARY:", summary)
        total = job.steps.count()
        assert f"{total}/{total}" in summary, summary
        browser.shot("training-05-rapport")
        assert browser.errors == [], browser.errors
    state = server.state
    for post in ("ancien-serveur", "poste-sms"):
        assert {s["StartType"] for s in state.post(post)["services"]} == {"Disabled"}
