"""Pages do a fixed number of queries, whatever the number of jobs, steps and runs."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from migrations_app import actions
from migrations_app.models import LogLine, StepRun
from tests.conftest import client_for


def add_jobs(practice, user, n):
    for i in range(n):
        job = actions.create_job(
            user, customer=practice.customer, site=practice.site,
            source=practice.source, target=practice.target, clients=[practice.client], title=f"job {i}",
        )  # fmt: skip
        for step in job.steps.all()[:3]:
            run = StepRun.objects.create(step=step, status="passed")
            LogLine.objects.create(run=run, seq=1, ts=timezone.now(), text="x")
    return job


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_it_lists_jobs_with_a_query_count_independent_of_their_number(practice, alice):
    client = client_for(alice)
    add_jobs(practice, alice, 2)
    few = queries(client, "/jobs/")
    add_jobs(practice, alice, 20)
    assert queries(client, "/jobs/") == few


def test_it_shows_a_job_page_with_a_query_count_independent_of_runs(practice, alice):
    client = client_for(alice)
    job = add_jobs(practice, alice, 1)
    few = queries(client, f"/jobs/{job.pk}/")
    step = job.steps.get(key="source.locate")
    for _ in range(10):
        StepRun.objects.create(step=step, status="failed")
    assert queries(client, f"/jobs/{job.pk}/?step=source.locate") == few
