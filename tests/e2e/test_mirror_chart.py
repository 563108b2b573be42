"""The copy's chart in a real browser: drawn from the samples a real data.mirror run recorded,
on the job page and in the sign-off report; a running copy's chart refreshes by itself."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from migrations_app.models import StepRun
from tests.e2e.test_browser import log_in
from tests.support.browser import chromium
from tests.support.mirror_runs import run_demo_copy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_the_copy_chart_renders_on_the_job_page_and_in_the_report_and_refreshes(
    live_server, plain_static, job, alice, monkeypatch
):
    run = run_demo_copy(job, alice, monkeypatch)
    assert len(run.progress_samples) >= 2
    with chromium() as browser:
        page = browser.page
        base = live_server.url
        log_in(page, base, "alice")
        page.goto(f"{base}/jobs/{job.pk}/?step=data.mirror&run={run.pk}")
        chart = page.locator("figure[data-mirror-chart]")
        svg = chart.locator("svg.mirror-chart-svg")
        expect(svg).to_be_visible()
        assert svg.bounding_box()["width"] > 300
        assert svg.locator("polyline").count() == 2
        points = svg.locator('polyline[data-series="files"]').get_attribute("points")
        assert len(points.split()) == len(run.progress_samples)
        expect(chart).to_contain_text("Durée réelle")
        expect(svg).to_contain_text("Fichiers copiés")
        browser.shot("13-graphique-copie")
        page.goto(f"{base}/jobs/{job.pk}/report/")
        expect(page.locator("svg.mirror-chart-svg")).to_be_visible()
        browser.shot("14-rapport-graphique-copie")

        # A copy still running: its chart asks again every 10 s and shows the new samples.
        running = StepRun.objects.create(
            step=job.steps.get(key="data.mirror"), requested_by=alice, status="running",
            attempt=2, started_at=timezone.now(), heartbeat_at=timezone.now(),
            done_bytes=2_000_000, total_bytes=8_000_000,
            progress_samples=[[0.0, 0, 0], [2.0, 1_000_000, 10], [4.0, 2_000_000, 20]],
        )  # fmt: skip
        page.goto(f"{base}/jobs/{job.pk}/?step=data.mirror&run={running.pk}")
        chart = page.locator("figure[data-mirror-chart]")
        expect(chart).to_have_attribute("data-points", "3")
        expect(chart).to_contain_text("fin estimée dans")
        StepRun.objects.filter(pk=running.pk).update(
            progress_samples=running.progress_samples + [[6.0, 3_000_000, 30]],
            done_bytes=3_000_000,
        )
        expect(chart).to_have_attribute("data-points", "4", timeout=20_000)
        assert browser.errors == [], browser.errors
