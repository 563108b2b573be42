"""The cut-over window: the final pass estimated from the pre-copies' recorded results, the
actual once done, on the job page and in the sign-off report (French)."""

import os
from datetime import UTC, datetime, timedelta

import pytest

from julieops.mirror import MirrorOptions, open_endpoint, run_mirror
from migrations_app import cutover_window
from migrations_app.models import StepRun
from tests.conftest import client_for

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def root(files, dirs, copied, extras, size, copied_bytes, scan, copy, total):
    """A data root as the mirror engine records it (Summary.as_json's shape)."""
    counts = dict.fromkeys(("total", "copied", "skipped", "mismatch", "failed", "extras"), 0)
    return {
        "root": "C:/Julie",
        "files": {**counts, "total": files, "copied": copied, "extras": extras},
        "dirs": {**counts, "total": dirs},
        "bytes": {**counts, "total": size, "copied": copied_bytes},
        "exit_code": 1 if copied else 0,
        "seconds": {"total": total, "copy": copy, "failed": 0.0, "scan": scan},
    }


# Recorded on the bench trees (50,000 files, 18,000 folders): a first copy, then two re-runs.
FIRST = {"roots": [root(50000, 18000, 50000, 0, 2_000_000_000, 2_000_000_000, 4.0, 60.0, 96.0)]}
NIGHT = {"roots": [root(50100, 18000, 400, 20, 2_010_000_000, 40_000_000, 2.0, 1.5, 4.0)]}
DAY = {"roots": [root(50200, 18000, 420, 10, 2_020_000_000, 42_000_000, 2.0, 1.6, 4.2)]}


def at(hours):
    return T0 + timedelta(hours=hours)


def test_it_estimates_the_listing_and_the_delta_from_the_pre_copies():
    runs = [
        (at(0), at(0) + timedelta(seconds=96), FIRST),
        (at(10), at(10) + timedelta(seconds=4), NIGHT),
        (at(20), at(20) + timedelta(seconds=4.2), DAY),
    ]
    window = cutover_window.window_of(runs, at(30), at(31))
    est = window["estimate"]
    assert window["actual"] is None
    assert est.basis == 3 and est.delta_known
    assert est.entries == 68200
    assert est.listing_rate == pytest.approx(68200 / 2.0)  # the latest re-run
    # (420 + 430) changed files, (40 + 42) MB over the hours between pre-copies (20 h less the
    # first two runs' own durations); 10 h less the last run's until the freeze
    hours, since = 20 - 100 / 3600, 10 - 4.2 / 3600
    assert est.files_per_hour == pytest.approx(850 / hours)
    assert est.hours_since == pytest.approx(since)
    assert est.delta_files == round(850 / hours * since)
    assert est.delta_bytes == round(82_000_000 / hours * since)
    # copy cost: everything after the listing (92, 2.0 and 2.2 s), on the line through the
    # smallest pre-copy (NIGHT: 420 files, 40 MB) and the largest (FIRST: 50,000 files, 2 GB)
    per_file = (92.0 - 2.0) / (50000 - 420)
    per_byte = (92.0 - 2.0) / (2_000_000_000 - 40_000_000)
    by_files = (2.0 - per_file * 420) + per_file * est.delta_files
    by_bytes = (2.0 - per_byte * 40_000_000) + per_byte * est.delta_bytes
    expected_copy = max(by_files, by_bytes)
    assert est.copy_seconds == pytest.approx(expected_copy)
    assert est.fixed_seconds == pytest.approx(0.0)  # the runs lasted their engine seconds
    assert est.seconds == pytest.approx(2.0 + expected_copy)


def test_time_outside_the_engine_is_a_fixed_cost_of_the_final_pass():
    """A run lasting 3 s more than its engine's seconds (session, evidence): 3 s more."""
    runs = [
        (at(0), at(0) + timedelta(seconds=96), FIRST),
        (at(10), at(10) + timedelta(seconds=7), NIGHT),
    ]
    est = cutover_window.window_of(runs, at(10) + timedelta(seconds=7), at(11))["estimate"]
    assert est.fixed_seconds == pytest.approx(3.0)
    assert est.delta_files == 0  # frozen right after it
    assert est.seconds == pytest.approx(3.0 + 2.0)  # fixed cost + the listing


def test_a_final_pass_like_the_last_re_run_costs_what_it_cost_after_its_listing():
    """The re-run's 2 s after its listing for 420 files hold a cost it pays whatever it copies:
    spread over the first copy's 50,000 files, that delta would be priced at 0.77 s."""
    runs = [
        (at(0), at(0) + timedelta(seconds=96), FIRST),
        (at(10), at(10) + timedelta(seconds=4), NIGHT),
    ]
    gap = 10 - 96 / 3600  # the hours NIGHT's 420 changes were made in
    est = cutover_window.window_of(runs, at(10) + timedelta(hours=gap, seconds=4), at(30))[
        "estimate"
    ]
    assert est.delta_files == 420
    assert est.copy_seconds == pytest.approx(2.0, rel=0.001)
    assert est.seconds == pytest.approx(2.0 + 2.0, rel=0.001)  # its listing, then its copy


def test_before_the_freeze_it_counts_the_hours_until_now_and_after_it_the_actual():
    runs = [
        (at(0), at(0) + timedelta(seconds=96), FIRST),
        (at(10), at(10) + timedelta(seconds=4), NIGHT),
    ]
    before = cutover_window.window_of(runs, None, at(15))["estimate"]
    later = cutover_window.window_of(runs, None, at(25))["estimate"]
    assert later.delta_files > before.delta_files > 0
    final = (at(26), at(26) + timedelta(seconds=3.1), DAY)
    after = cutover_window.window_of([*runs, final], at(25), at(40))
    assert after["actual"] == pytest.approx(3.1)
    assert after["estimate"].basis == 2  # the final pass is not a pre-copy
    assert after["estimate"].hours_since == pytest.approx(25 - 10 - 4 / 3600)


def test_one_pre_copy_gives_a_minimum_and_no_usable_run_gives_none():
    only = cutover_window.window_of([(at(0), at(0) + timedelta(seconds=96), FIRST)], None, at(5))
    est = only["estimate"]
    assert not est.delta_known and est.delta_files == 0 and est.copy_seconds == 0
    assert est.seconds == pytest.approx(4.0)  # the first copy's own listing
    dry = {"roots": FIRST["roots"], "dry_run": True}
    assert cutover_window.window_of([(at(0), at(1), dry)], None, at(2))["estimate"] is None
    assert (
        cutover_window.window_of([(at(0), at(1), {"items": []})], None, at(2))["estimate"] is None
    )


def test_robocopy_runs_without_listing_seconds_use_their_duration():
    def untimed(result):
        return {"roots": [{k: v for k, v in r.items() if k != "seconds"} for r in result["roots"]]}

    quiet = {"roots": [root(50100, 18000, 0, 0, 2_010_000_000, 0, 0, 0, 0)]}
    runs = [
        (at(0), at(0) + timedelta(seconds=100), untimed(FIRST)),
        (at(10), at(10) + timedelta(seconds=5), untimed(quiet)),
    ]
    est = cutover_window.window_of(runs, None, at(12))["estimate"]
    assert est.listing_rate == pytest.approx(68100 / 5)
    assert est.delta_files == 0  # nothing changed between the two pre-copies


def test_on_results_the_engine_recorded_it_predicts_a_re_run(tmp_path):
    """Real engine results: first copy, a change, a re-run; the estimate of a no-change pass
    right after the re-run is its listing, the same order as the re-run's own listing."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    for d in range(20):
        (src / f"d{d}").mkdir(parents=True)
        for f in range(25):
            (src / f"d{d}" / f"f{f}.dat").write_bytes(os.urandom(200))
    runs = []
    for hours in (0, 1):
        if hours:
            (src / "d3" / "f1.dat").write_bytes(b"changed")
        started = at(hours)
        with open_endpoint(str(src)) as a, open_endpoint(str(dst)) as b:
            # The re-run is onto our own earlier copy, which holds no Julie marker: the caller
            # says so, as the dashboard does from its earlier runs.
            summary = run_mirror(a, b, MirrorOptions(verify=True, force=bool(hours)))
        ended = started + timedelta(seconds=summary.elapsed)
        runs.append((started, ended, {"roots": [summary.as_json()], "dry_run": False}))
    est = cutover_window.window_of(runs, None, runs[-1][1])["estimate"]
    assert est.entries == 500 + 20 + 1  # files, folders, the root
    assert est.delta_known and est.files_per_hour == pytest.approx(1.0, rel=0.01)
    assert est.delta_files == 0
    listed = runs[-1][2]["roots"][0]["seconds"]["scan"]
    assert est.listing_seconds == pytest.approx(listed, rel=0.01)
    assert est.copy_seconds == 0
    # The run's duration here is the engine's own elapsed time, which it records rounded to the
    # millisecond: the only fixed cost left is that rounding (CI saw 0.3 ms on a 25 ms listing).
    assert 0 <= est.fixed_seconds < 0.001
    assert est.seconds == pytest.approx(est.fixed_seconds + listed, rel=1e-9)


def test_french_formats():
    assert cutover_window.format_duration(4.25) == "4,2 s"
    assert cutover_window.format_duration(200) == "3 min 20 s"
    assert cutover_window.format_duration(3900) == "1 h 05 min"
    assert cutover_window.format_number(1234567) == "1\u202f234\u202f567"
    assert cutover_window.format_number(1234.5, 1) == "1\u202f234,5"
    assert cutover_window.format_bytes(82_000_000) == "78,2 Mo"


def _run(step, started, seconds, result):
    return StepRun.objects.create(
        step=step,
        status="passed",
        started_at=started,
        finished_at=started + timedelta(seconds=seconds),
        result=result,
    )


def test_the_job_page_and_the_report_show_the_estimate_then_the_actual(job, alice):
    mirror = job.steps.get(key="data.mirror")
    now = datetime.now(UTC)
    _run(mirror, now - timedelta(hours=30), 96, FIRST)
    _run(mirror, now - timedelta(hours=20), 4, NIGHT)
    _run(mirror, now - timedelta(hours=10), 4.2, DAY)
    page = client_for(alice).get(f"/jobs/{job.pk}/").content.decode()
    assert "Fenêtre de bascule" in page
    assert "Durée estimée de la passe finale" in page
    assert "68\u202f200 entrées" in page  # French thousands
    assert "Durée mesurée" not in page

    freeze = job.steps.get(key="cutover.freeze")
    _run(freeze, now - timedelta(hours=2), 30, {"items": []})
    _run(mirror, now - timedelta(hours=1), 185, DAY)
    page = client_for(alice).get(f"/jobs/{job.pk}/").content.decode()
    assert "Durée mesurée de la passe finale" in page and "3 min 05 s" in page
    report = client_for(alice).get(f"/jobs/{job.pk}/report/").content.decode()
    assert "Fenêtre de bascule" in report
    assert "Durée estimée de la passe finale" in report and "3 min 05 s" in report


def test_without_a_pre_copy_the_page_says_so(job, alice):
    page = client_for(alice).get(f"/jobs/{job.pk}/").content.decode()
    assert "Aucune copie préalable" in page
