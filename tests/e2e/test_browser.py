"""The dashboard in a real browser: log in, create a job, run a step and watch its log and
progress, tick a manual step, approve as a supervisor, find the audit entry. French labels,
no console error; screenshots of the key pages in test-artifacts/."""

import re

import pytest
from playwright.sync_api import expect

from migrations_app.models import MigrationJob
from tests.conftest import PASSWORD
from tests.support.browser import chromium

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def log_in(page, base, username):
    page.goto(f"{base}/login/")
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/overview/"))


def test_it_walks_a_job_through_the_browser(
    live_server, plain_static, practice, alice, bob, worker
):
    base = live_server.url
    practice.site.worker_queue = worker.queue
    practice.site.save()
    with chromium() as browser:
        page = browser.page
        log_in(page, base, "alice")
        expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
        browser.shot("01-vue-d-ensemble")

        # Create a job.
        page.goto(f"{base}/jobs/new/")
        expect(page.get_by_role("heading", name="Nouvelle migration")).to_be_visible()
        page.locator("select[name=customer]").select_option(str(practice.customer.pk))
        page.locator("select[name=site]").select_option(str(practice.site.pk))
        page.get_by_label(re.compile("^ancien serveur")).select_option(str(practice.source.pk))
        page.get_by_label(re.compile("^nouveau serveur")).select_option(str(practice.target.pk))
        page.get_by_label(re.compile("^titre")).fill("Migration Évry, navigateur")
        browser.shot("02-nouvelle-migration")
        page.get_by_role("button", name="Créer la migration").click()
        expect(page.get_by_text("Migration créée avec sa liste d'étapes.")).to_be_visible()
        job = MigrationJob.objects.get(title="Migration Évry, navigateur")
        browser.shot("03-migration")

        # Run a step and watch its log lines and progress bar move.
        job.options = {"probe_seconds": 4, "probe_tick": 0.05}
        job.save()
        job.steps.create(key="probe.sleep", phase=5, order=99, kind="auto")
        page.goto(f"{base}/jobs/{job.pk}/?step=probe.sleep")
        page.get_by_role("button", name="Lancer").click()
        expect(page.get_by_text("Étape envoyée aux exécuteurs.")).to_be_visible()
        lines, bars = page.locator("#log-lines span"), page.locator("#run-status progress")
        expect(lines.first).to_be_attached(timeout=30_000)
        seen_lines, seen_values = [], []
        while page.locator("#log-poller[hx-get]").count() and len(seen_lines) < 200:
            count = lines.count()
            if seen_lines and count < seen_lines[-1]:
                break  # the final poll swapped in the page's final state
            seen_lines.append(count)
            if len(seen_lines) == 5:
                browser.shot("04-etape-en-cours")
            if bars.count():
                seen_values.append(int(bars.first.get_attribute("value")))
            page.wait_for_timeout(150)
        assert len(set(seen_lines)) >= 3 and seen_lines == sorted(seen_lines), seen_lines
        assert len(set(seen_values)) >= 2 and seen_values == sorted(seen_values), seen_values
        # The last poll swaps in the page's final state (no reload) with the run's outcome.
        expect(page.locator("#run-status .badge.passed")).to_be_visible(timeout=30_000)
        expect(page.locator("#log-lines")).to_contain_text("tics")
        seqs = [int(s) for s in lines.evaluate_all("els => els.map(e => e.dataset.seq)")]
        assert seqs == list(range(1, len(seqs) + 1))
        browser.shot("05-etape-reussie")

        # Tick a manual step with a note.
        page.goto(f"{base}/jobs/{job.pk}/?step=source.associated_services")
        page.get_by_label("Note (obligatoire pour cocher, sauter ou approuver)").fill(
            "SMS, RDV et sauvegarde notés"
        )
        page.get_by_role("button", name="Cocher comme faite").click()
        expect(page.get_by_text("Étape cochée.")).to_be_visible()
        expect(page.locator("p.muted", has_text="Par alice")).to_contain_text("SMS, RDV")

        # A technician asks for a pxdatas purge; only a supervisor may approve it.
        page.goto(f"{base}/jobs/{job.pk}/?step=data.pxdatas")
        page.get_by_label("décision", exact=True).select_option("purge")
        page.get_by_label("Raison écrite").fill("FSE toutes transmises, ARL reçus")
        page.get_by_role("button", name="Enregistrer la décision").click()
        expect(page.get_by_role("button", name="Approuver")).to_have_count(0)
        page.get_by_role("button", name="Se déconnecter").click()
        page.wait_for_url(re.compile(r"/login/"))

        log_in(page, base, "bob")
        page.goto(f"{base}/jobs/{job.pk}/?step=data.pxdatas")
        page.get_by_label("Note (obligatoire pour cocher, sauter ou approuver)").fill(
            "ARL vérifiés avec le cabinet"
        )
        page.get_by_role("button", name="Approuver").click()
        expect(page.get_by_text("Étape approuvée.")).to_be_visible()
        expect(page.locator("p.muted", has_text="Approuvé par bob")).to_contain_text("ARL vérifiés")
        browser.shot("06-approbation")

        # The audit history shows who approved and why.
        page.goto(f"{base}/jobs/{job.pk}/")
        page.get_by_role("link", name="Historique d'audit").click()
        row = page.locator("tr", has_text="étape approuvée")
        expect(row).to_contain_text("bob")
        expect(row).to_contain_text("ARL vérifiés avec le cabinet")
        expect(page.locator("tr", has_text="étape cochée à la main")).to_contain_text("alice")
        browser.shot("07-audit")
        assert browser.errors == [], browser.errors
