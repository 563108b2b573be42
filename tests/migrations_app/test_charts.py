"""A mirror run's chart: the progress samples the flusher records (bounded, summed over the
data roots), the SVG drawn from them (expected points for a recorded series, French labels
and numbers), the time left while it runs and the actual duration once done, on the job page
and in the sign-off report."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from migrations_app import charts
from migrations_app.execution import logbook
from migrations_app.models import StepRun
from tests.conftest import client_for
from tests.support.mirror_runs import run_demo_copy

MIB = 2**20
# 8 s of copy: 1 Mio/s, then 2 Mio/s, then 0,5 Mio/s; 10, 30, 40 files.
SERIES = [[0.0, 0, 0], [2.0, 2 * MIB, 10], [4.0, 6 * MIB, 30], [8.0, 8 * MIB, 40]]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(logbook.time, "monotonic", clock)
    return clock


def test_it_samples_at_most_every_two_seconds_and_keeps_at_most_500(clock):
    progress = logbook.Progress()
    for _ in range(5000):  # an update every 0,5 s for 2,500 s
        clock.now += 0.5
        progress.update(done=1, total=10, done_bytes=1, total_bytes=10)
    progress.finish()
    samples = progress.take()["progress_samples"]
    assert 250 <= len(samples) <= logbook.MAX_SAMPLES
    gaps = [b[0] - a[0] for a, b in zip(samples, samples[1:], strict=False)]
    assert min(gaps) >= logbook.SAMPLE_SECONDS
    assert samples[-1][0] == 2500.0  # the run's end is the last sample
    assert progress.take() == {}  # nothing new: nothing to write


def test_it_sums_the_counts_over_successive_roots_and_ends_with_a_last_sample(clock):
    progress = logbook.Progress()
    for t, done_bytes, files in [(1, 0, 0), (3, 500, 5), (5, 1000, 10), (7, 200, 2), (9, 300, 3)]:
        clock.now = 1000.0 + t
        progress.update(done=files, total=10, done_bytes=done_bytes, total_bytes=1000)
    clock.now += 0.5
    progress.update(done=4, done_bytes=400)  # within 2 s of the last sample: not sampled
    progress.finish()
    assert progress.take()["progress_samples"] == [
        [1.0, 0, 0], [3.0, 500, 5], [5.0, 1000, 10], [7.0, 1200, 12], [9.0, 1300, 13],
        [9.5, 1400, 14],
    ]  # fmt: skip


def test_its_time_left_uses_the_recent_rate(clock):
    progress = logbook.Progress()
    # 100 s at 10 bytes/s, then 20 s at 100 bytes/s: what remains goes at the recent rate.
    for t in range(0, 101, 2):
        clock.now = 1000.0 + t
        progress.update(done_bytes=10 * t, total_bytes=100_000)
    for t in range(102, 161, 2):
        clock.now = 1000.0 + t
        progress.update(done_bytes=1000 + 100 * (t - 100), total_bytes=100_000)
    done = 1000 + 100 * 60
    left = progress.take()["eta_seconds"]
    # The last minute went at 100 bytes/s (the average since the start is 44 bytes/s).
    assert (100_000 - done) / 110 <= left <= (100_000 - done) / 90


def test_it_draws_the_recorded_series_as_expected_points():
    with translation.override("fr"):
        svg = charts.chart_svg(SERIES)
    # 808 px wide from x=76 over 8 s; 188 px high from y=28; rate axis 0 – 2 Mio/s,
    # files axis 0 – 50.
    assert 'data-series="rate" points="278.0,122.0 480.0,28.0 884.0,169.0"' in svg
    assert 'data-series="files" points="76.0,216.0 278.0,178.4 480.0,103.2 884.0,65.6"' in svg
    assert "Débit (Mio/s)" in svg and "Fichiers copiés" in svg
    assert ">0,5<" in svg and ">1,5<" in svg  # French decimals on the rate axis
    assert ">8 s<" in svg
    with translation.override("en"):
        svg = charts.chart_svg(SERIES)
    assert "Throughput (MB/s)" in svg and ">0.5<" in svg


def test_it_draws_nothing_from_fewer_than_two_samples():
    assert charts.chart_svg([]) == ""
    assert charts.chart_svg([[0.0, 0, 0]]) == ""


def _mirror_run(job, **fields):
    step = job.steps.get(key="data.mirror")
    return StepRun.objects.create(step=step, progress_samples=SERIES, **fields)


def test_it_says_the_time_left_while_running_and_the_actual_duration_once_done(job):
    now = timezone.now()
    running = _mirror_run(
        job, status="running", started_at=now - timedelta(seconds=8),
        done_bytes=8 * MIB, total_bytes=18 * MIB, done_units=40, total_units=90,
    )  # fmt: skip
    with translation.override("fr"):
        chart = charts.mirror_chart(running, now=now)
        # 10 Mio left at the last 8 s' rate (1 Mio/s): 10 s.
        assert chart.eta_text.startswith("fin estimée dans 10,0 s (vers ")
        assert chart.duration_text == ""
        assert chart.average_text == "8,0 Mio copiés, 40 fichiers, en moyenne 1,0 Mio par seconde"
    done = _mirror_run(
        job, status="passed", started_at=now - timedelta(seconds=8.4), finished_at=now,
        done_bytes=8 * MIB, total_bytes=8 * MIB,
    )  # fmt: skip
    with translation.override("fr"):
        chart = charts.mirror_chart(done, now=now)
        assert (chart.eta_text, chart.duration_text) == ("", "8,4 s")
    with translation.override("en"):
        assert charts.mirror_chart(done, now=now).duration_text == "8.4 s"
    other = StepRun.objects.create(step=job.steps.get(key="source.locate"), status="passed")
    assert charts.mirror_chart(other) is None


def test_a_copy_that_reports_files_but_no_bytes_says_so_instead_of_zero(job):
    """robocopy.exe on the new server reports files as it goes, not bytes."""
    run = _mirror_run(job, status="passed")
    run.progress_samples = [[0.0, 0, 0], [2.0, 0, 40], [4.0, 0, 119]]
    with translation.override("fr"):
        text = charts.mirror_chart(run).average_text
    assert text.startswith("119 fichiers ; le débit n'est pas signalé pendant cette copie")
    assert "0 octet" not in text


def test_the_job_page_the_chart_refresh_and_the_report_show_it(job, alice):
    now = timezone.now()
    run = _mirror_run(
        job, status="passed", started_at=now - timedelta(seconds=8), finished_at=now,
        done_bytes=8 * MIB, total_bytes=8 * MIB,
    )  # fmt: skip
    client = client_for(alice)
    page = client.get(f"/jobs/{job.pk}/?step=data.mirror&run={run.pk}").content.decode()
    assert 'class="mirror-chart-svg"' in page and "Durée réelle : 8,0 s" in page
    assert 'hx-trigger="every 10s"' not in page.split("data-mirror-chart")[1][:400]
    fragment = client.get(f"/jobs/{job.pk}/runs/{run.pk}/chart/")
    assert fragment.status_code == 200 and b"mirror-chart-svg" in fragment.content
    report = client.get(f"/jobs/{job.pk}/report/").content.decode()
    assert 'data-series="rate" points="278.0,122.0 480.0,28.0 884.0,169.0"' in report
    other = StepRun.objects.create(step=job.steps.get(key="source.locate"), status="passed")
    assert client.get(f"/jobs/{job.pk}/runs/{other.pk}/chart/").status_code == 404


def test_a_running_copy_refreshes_its_chart(job, alice):
    run = _mirror_run(job, status="running", started_at=timezone.now())
    page = client_for(alice).get(f"/jobs/{job.pk}/?step=data.mirror&run={run.pk}").content
    assert f'hx-get="/jobs/{job.pk}/runs/{run.pk}/chart/"'.encode() in page


@pytest.mark.django_db(transaction=True)
def test_a_real_copy_records_its_samples_on_the_run(job, alice, monkeypatch):
    """data.mirror through the runner and its flusher, sampling every update and keeping
    at most 8: the samples are on the run, bounded, growing, and end with the copy."""
    monkeypatch.setattr(logbook, "MAX_SAMPLES", 8)
    run = run_demo_copy(job, alice, monkeypatch)
    samples = run.progress_samples
    assert 2 <= len(samples) <= 8
    assert [s[0] for s in samples] == sorted(s[0] for s in samples)
    assert samples[-1][2] == run.result["roots"][0]["files"]["copied"]
    assert charts.mirror_chart(run).svg.startswith("<svg")


def test_durations_and_time_left_read_in_the_languages_format(job, alice):
    now = timezone.now()
    run = StepRun.objects.create(
        step=job.steps.get(key="source.locate"), status="passed",
        started_at=now - timedelta(seconds=4.2), finished_at=now,
    )  # fmt: skip
    with translation.override("fr"):
        assert run.duration_text == "4,2 s"
    with translation.override("en"):
        assert run.duration_text == "4.2 s"
    running = StepRun.objects.create(
        step=job.steps.get(key="data.mirror"), status="running", started_at=now,
        done_bytes=1, total_bytes=10, eta_seconds=3725,
    )  # fmt: skip
    client = client_for(alice)
    url = f"/jobs/{job.pk}/?step=data.mirror&run={running.pk}"
    assert "encore environ 1 h 02 min" in client.get(url).content.decode()
    client.cookies["django_language"] = "en"
    assert "about 1 h 02 min left" in client.get(url).content.decode()


def _pdf_line_segments(pdf: bytes) -> int:
    """Straight-line path segments (`x y l`) drawn in a PDF's content streams."""
    import re
    import zlib

    count = 0
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        count += len(re.findall(rb"-?[\d.]+ -?[\d.]+ l\b", content))
    return count


def test_the_pdf_report_draws_the_chart(job, alice):
    now = timezone.now()
    run = StepRun.objects.create(
        step=job.steps.get(key="data.mirror"), status="passed",
        started_at=now - timedelta(seconds=8), finished_at=now,
    )  # fmt: skip
    client = client_for(alice)
    without = _pdf_line_segments(client.get(f"/jobs/{job.pk}/report.pdf").content)
    StepRun.objects.filter(pk=run.pk).update(progress_samples=SERIES)
    response = client.get(f"/jobs/{job.pk}/report.pdf")
    assert response["Content-Type"] == "application/pdf"
    # At least the two polylines' segments (2 + 3) and the axis, grid and tick lines.
    assert _pdf_line_segments(response.content) >= without + 5 + 1 + 5 + 5
