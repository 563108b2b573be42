from django.utils import timezone

from migrations_app.models import LogLine, StepRun
from tests.conftest import client_for


def make_run(job, status="running", lines=5):
    step = job.steps.get(key="source.locate")
    run = StepRun.objects.create(step=step, status=status)
    LogLine.objects.bulk_create(
        LogLine(run=run, seq=i, ts=timezone.now(), text=f"ligne {i}") for i in range(1, lines + 1)
    )
    return run


def log_url(job, run, after):
    return f"/jobs/{job.pk}/runs/{run.pk}/log/?after={after}"


def test_it_returns_only_the_lines_after_the_cursor(job, carol):
    run = make_run(job, lines=5)
    response = client_for(carol).get(log_url(job, run, 3), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-seq="4"' in body and 'data-seq="5"' in body
    assert 'data-seq="3"' not in body and "ligne 2" not in body
    assert "after=5" in body  # the next poll continues after the last line sent


def test_it_keeps_polling_while_the_run_is_active(job, carol):
    run = make_run(job, lines=2)
    response = client_for(carol).get(log_url(job, run, 2))
    assert response.status_code == 200
    assert 'hx-trigger="every 1s"' in response.content.decode()


def test_it_answers_286_once_the_run_is_over_and_every_line_was_sent(job, carol):
    run = make_run(job, status="passed", lines=3)
    client = client_for(carol)
    response = client.get(log_url(job, run, 1))
    assert response.status_code == 286
    assert "ligne 2" in response.content.decode() and "ligne 3" in response.content.decode()
    assert "hx-trigger" not in response.content.decode()


def test_it_refuses_a_cursor_that_is_not_a_number(job, carol):
    run = make_run(job)
    response = client_for(carol).get(log_url(job, run, "abc"))
    assert response.status_code == 400


def test_it_does_not_serve_a_run_of_another_job(job, practice, alice, carol):
    from migrations_app import actions

    other = actions.create_job(
        alice, customer=practice.customer, site=practice.site,
        source=practice.target, target=practice.source, clients=[],
    )  # fmt: skip
    run = make_run(other)
    assert client_for(carol).get(log_url(job, run, 0)).status_code == 404


def test_it_updates_the_status_and_progress_out_of_band(job, carol):
    run = make_run(job, lines=1)
    run.done_bytes, run.total_bytes = 50, 200
    run.save()
    body = client_for(carol).get(log_url(job, run, 1)).content.decode()
    assert 'id="run-status" hx-swap-oob="true"' in body
    assert 'value="25"' in body
