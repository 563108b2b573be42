"""The job page's timeline: every run of every step and what people did, newest first."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from migrations_app import actions
from migrations_app.models import StepRun
from migrations_app.steps import pxdatas
from migrations_app.timeline import job_timeline
from tests.conftest import client_for


def make_run(step, attempt, status, minutes_ago, seconds, user, worker="w1:42"):
    start = timezone.now() - timedelta(minutes=minutes_ago)
    return StepRun.objects.create(
        step=step, attempt=attempt, status=status, requested_by=user, worker=worker,
        started_at=start, finished_at=start + timedelta(seconds=seconds), summary=f"essai {attempt}",
    )  # fmt: skip


def test_it_merges_runs_and_human_actions_newest_first(job, alice, bob):
    locate = job.steps.get(key="source.locate")
    first = make_run(locate, 1, "failed", 30, 185, alice)
    second = make_run(locate, 2, "passed", 20, 4.2, bob)
    actions.tick_step(job.steps.get(key="source.associated_services"), alice, "Aucun service tiers")
    entries = job_timeline(job)
    kinds = [(e.kind, e.run.pk if e.run else e.event.action) for e in entries]
    # The runs started before the job was created here (test data): order is by time.
    assert kinds == [
        ("event", "step.tick"),
        ("event", "job.create"),
        ("run", second.pk),
        ("run", first.pk),
    ]
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)


def test_it_shows_attempts_durations_workers_and_reasons_on_the_job_page(job, alice, bob):
    locate = job.steps.get(key="source.locate")
    make_run(locate, 1, "failed", 30, 185, alice, worker="site-evry@portable:311")
    px_step = job.steps.get(key="data.pxdatas")
    pxdatas.request_decision(px_step, alice, "purge", "ARL reçus")
    actions.approve_step(px_step, bob, "Reprise des FSE validée avec le cabinet")
    page = client_for(alice).get(f"/jobs/{job.pk}/").content.decode()
    timeline = page[page.index('id="timeline"') :]
    assert "3 min 05 s" in timeline and "site-evry@portable:311" in timeline
    assert "?step=source.locate&amp;run=" in timeline and "essai 1" in timeline
    assert "Reprise des FSE validée avec le cabinet" in timeline
    assert ">bob<" in timeline and ">alice<" in timeline
    # The worker's own "step.finished" events are not repeated: the run row stands for them.
    assert timeline.count("essai 1") == 1


def test_it_builds_the_timeline_with_a_fixed_number_of_queries(job, alice):
    steps = list(job.steps.all()[:4])
    make_run(steps[0], 1, "passed", 5, 1, alice)
    with CaptureQueriesContext(connection) as few:
        job_timeline(job)
    for i, step in enumerate(steps):
        for attempt in range(1, 4):
            make_run(step, attempt, "failed", 10 + i, 2, alice)
        actions.tick_step(step, alice, f"fait {i}")
    with CaptureQueriesContext(connection) as many:
        entries = job_timeline(job)
    assert len(entries) >= 17
    assert len(many.captured_queries) == len(few.captured_queries) == 2


def test_it_draws_the_migration_as_an_svg_timeline_on_the_page_and_in_the_report(job, alice, bob):
    locate = job.steps.get(key="source.locate")
    make_run(locate, 1, "failed", 30, 185, alice)
    make_run(locate, 2, "passed", 20, 4.2, bob)
    actions.tick_step(job.steps.get(key="source.associated_services"), alice, "Aucun service tiers")
    client = client_for(alice)
    for url in (f"/jobs/{job.pk}/", f"/jobs/{job.pk}/report/"):
        page = client.get(url).content.decode()
        svg = page[page.index("<svg") : page.index("</svg>")]
        assert svg.count("<rect") == 2  # one bar per run
        assert 'fill="#cf222e"' in svg and 'fill="#2da44e"' in svg  # failed, passed
        assert svg.count("<path") == 1  # the tick, as a mark
        assert "étape cochée à la main" in svg  # its label, in French
        assert "<script" not in svg


def test_the_svg_timeline_renders_in_the_pdf(job, alice):
    import pytest

    from migrations_app import signoff

    if not signoff.pdf_available():
        pytest.fail("WeasyPrint is a test dependency: the PDF must be checked")
    make_run(job.steps.get(key="source.locate"), 1, "passed", 10, 3, alice)
    response = client_for(alice).get(f"/jobs/{job.pk}/report.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert len(response.content) > 2000
