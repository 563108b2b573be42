"""The dashboard's guiding parts in a real browser: the new-job form's dependent selects, a
live log that follows and stops following, a note typed during a run that survives the end
of the run (no reload), the whole log downloaded, and the timeline picture."""

import re

import pytest
from playwright.sync_api import expect

from migrations_app.models import Customer, Machine, MigrationJob, Site
from tests.e2e.test_browser import log_in
from tests.support.browser import chromium

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

AT_BOTTOM = "el => el.scrollHeight - el.scrollTop - el.clientHeight <= 8"


def test_the_new_job_form_offers_only_the_chosen_customers_sites_and_machines(
    live_server,
    plain_static,
    practice,
    alice,
):
    other = Customer.objects.create(name="Cabinet voisin")
    other_site = Site.objects.create(customer=other, name="Voisin")
    Machine.objects.create(site=other_site, hostname="SERVEUR-VOISIN", transport="local")
    with chromium() as browser:
        page = browser.page
        log_in(page, live_server.url, "alice")
        page.goto(f"{live_server.url}/jobs/new/")
        page.get_by_label(re.compile("^titre")).fill("Tapé avant de choisir")
        page.locator("select[name=customer]").select_option(str(practice.customer.pk))
        site = page.locator("select[name=site]")
        expect(site.locator(f'option[value="{practice.site.pk}"]')).to_have_count(1)
        expect(site.locator(f'option[value="{other_site.pk}"]')).to_have_count(0)
        site.select_option(str(practice.site.pk))
        source = page.get_by_label(re.compile("^ancien serveur"))
        expect(source.locator(f'option[value="{practice.source.pk}"]')).to_have_count(1)
        expect(page.locator("option", has_text="SERVEUR-VOISIN")).to_have_count(0)
        # What was typed before the selects changed is still there.
        expect(page.get_by_label(re.compile("^titre"))).to_have_value("Tapé avant de choisir")
        browser.shot("10-selects-dependants")
        assert browser.errors == [], browser.errors


def test_the_log_follows_stops_following_keeps_the_note_and_downloads(
    live_server,
    plain_static,
    practice,
    alice,
    worker,
    tmp_path,
):
    from migrations_app import actions

    practice.site.worker_queue = worker.queue
    practice.site.save()
    job = actions.create_job(
        alice, customer=practice.customer, site=practice.site,
        source=practice.source, target=practice.target, title="Journal suivi",
    )  # fmt: skip
    job.options = {"probe_seconds": 6, "probe_tick": 0.02}
    job.save()
    job.steps.create(key="probe.sleep", phase=5, order=99, kind="auto")
    with chromium() as browser:
        page = browser.page
        base = live_server.url
        log_in(page, base, "alice")
        page.goto(f"{base}/jobs/{job.pk}/?step=probe.sleep")
        page.evaluate("window.__noReload = 'same page'")
        page.get_by_role("button", name="Lancer").click()
        page.evaluate("window.__noReload = 'same page'")  # the click's own redirect loads once
        box, follow = page.locator("#log-lines"), page.locator("#log-follow")
        note = page.locator("#note")
        note.fill("Note tapée pendant l'exécution")
        expect(box.locator("span").nth(60)).to_be_attached(timeout=30_000)
        # Following: the newest line is in view.
        page.wait_for_timeout(1200)
        assert box.evaluate(AT_BOTTOM)
        # Scrolling up stops following: new lines arrive, the view stays put.
        box.evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
        expect(follow).not_to_be_checked()
        before = box.locator("span").count()
        page.wait_for_timeout(1500)
        assert box.locator("span").count() > before
        assert box.evaluate("el => el.scrollTop") < 10
        # Ticking « Suivre » follows again.
        follow.check()
        assert box.evaluate(AT_BOTTOM)
        browser.shot("11-journal-suivi")
        # The end of the run: the page's final state swapped in, no reload, note kept.
        expect(page.locator("#run-status .badge.passed")).to_be_visible(timeout=30_000)
        expect(page.locator("#log-poller")).to_have_count(0, timeout=10_000)
        assert page.evaluate("window.__noReload") == "same page"
        expect(note).to_have_value("Note tapée pendant l'exécution")
        expect(box).to_contain_text("tics")
        page.wait_for_timeout(300)
        assert box.evaluate(AT_BOTTOM)  # the final summary is in view
        expect(page.locator("table.runs")).to_contain_text("Attente")
        browser.shot("12-fin-de-run-note-gardee")
        # The whole log as a text file.
        with page.expect_download() as download:
            page.get_by_role("link", name="Télécharger tout le journal (texte)").click()
        path = tmp_path / "journal.txt"
        download.value.save_as(path)
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# JulieOps") and "ISO 8601" in text and "tic 1" in text
        run = job.steps.get(key="probe.sleep").runs.get()
        assert len([x for x in text.splitlines() if not x.startswith("#")]) == run.last_seq
        # The timeline picture renders.
        svg = page.locator("#timeline svg.timeline-svg")
        expect(svg).to_be_visible()
        assert svg.locator("rect").count() >= 1
        assert MigrationJob.objects.get(pk=job.pk).title == "Journal suivi"
        assert browser.errors == [], browser.errors
