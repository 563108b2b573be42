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
    body = response.content.decode()
    assert "ligne 2" in body and "ligne 3" in body
    assert "every 1s" not in body and "/log/?after" not in body  # no further poll


def test_the_end_of_a_run_swaps_the_page_grid_in_place_without_a_reload(job, alice, carol):
    run = make_run(job, status="passed", lines=3)
    response = client_for(carol).get(log_url(job, run, 3))
    body = response.content.decode()
    assert response.status_code == 286
    assert "HX-Refresh" not in response  # a reload would wipe the note being typed
    assert 'hx-trigger="load"' in body and 'hx-select="#job-grid"' in body
    assert f"/jobs/{job.pk}/?step=source.locate&amp;run={run.pk}" in body
    page = client_for(alice).get(f"/jobs/{job.pk}/?step=source.locate").content.decode()
    assert 'id="job-grid"' in page
    assert 'id="note" name="note" rows="2" hx-preserve="true"' in page


def test_one_poll_brings_a_fast_runs_whole_backlog_up_to_a_bound(job, carol):
    from migrations_app.web.jobs import LOG_POLL_BATCH

    run = make_run(job, status="passed", lines=LOG_POLL_BATCH + 10)
    client = client_for(carol)
    first = client.get(log_url(job, run, 0))
    assert first.status_code == 200  # more lines wait: the poll goes on
    assert first.content.decode().count("data-seq=") == LOG_POLL_BATCH
    second = client.get(log_url(job, run, LOG_POLL_BATCH))
    assert second.status_code == 286
    assert second.content.decode().count("data-seq=") == 10


def test_the_whole_log_downloads_as_a_streamed_text_file(job, carol):
    from migrations_app.web import jobs

    run = make_run(job, status="passed", lines=jobs.LOG_EXPORT_CHUNK * 2 + 7)
    response = client_for(carol).get(f"/jobs/{job.pk}/runs/{run.pk}/log.txt")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "attachment;" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    lines = text.splitlines()
    assert lines[0].startswith("# JulieOps") and "ISO 8601" in lines[1]
    body = [line for line in lines if not line.startswith("#")]
    assert len(body) == jobs.LOG_EXPORT_CHUNK * 2 + 7
    assert body[0].endswith("ligne 1") and body[-1].endswith(f"ligne {len(body)}")
    assert "+01:00" in body[0] or "+02:00" in body[0]  # the site's time zone, labelled


def test_the_download_does_not_serve_a_run_of_another_job(job, practice, alice, carol):
    from migrations_app import actions

    other = actions.create_job(
        alice, customer=practice.customer, site=practice.site,
        source=practice.target, target=practice.source, clients=[],
    )  # fmt: skip
    run = make_run(other)
    assert client_for(carol).get(f"/jobs/{job.pk}/runs/{run.pk}/log.txt").status_code == 404


def test_the_run_list_shows_queued_started_finished_the_wait_and_the_duration(job, carol):
    from datetime import timedelta

    run = make_run(job, status="passed", lines=1)
    queued = timezone.now() - timedelta(minutes=5)
    StepRun.objects.filter(pk=run.pk).update(
        queued_at=queued,
        started_at=queued + timedelta(minutes=3),
        finished_at=queued + timedelta(minutes=3, seconds=4.5),
    )
    page = client_for(carol).get(f"/jobs/{job.pk}/?step=source.locate").content.decode()
    assert "3 min 00 s" in page  # the wait
    assert "4,5 s" in page  # the duration, French decimal comma
    assert timezone.localtime(queued).strftime("%d/%m/%Y %H:%M:%S") in page


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


def test_the_step_counter_counts_catalogue_steps_only(job, alice):
    from migrations_app.steps.registry import catalogue

    client = client_for(alice)
    before = client.get(f"/jobs/{job.pk}/").context["total"]
    assert before == len(catalogue())
    job.steps.create(key="cutover.unfreeze", phase=3, order=101, kind="auto")  # a tool
    assert client.get(f"/jobs/{job.pk}/").context["total"] == before


def test_verifying_a_phase_lands_on_that_phases_results(job, alice):
    response = client_for(alice).post(f"/jobs/{job.pk}/phases/3/verify/")
    assert response.status_code == 302
    key = response["Location"].split("?step=")[1]
    assert job.steps.get(key=key).phase == 3
