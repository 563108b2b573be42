"""The demo job's copy (source.locate, then data.mirror) run for real, for the chart tests."""

from migrations_app.execution import logbook, runner
from migrations_app.models import StepRun


def run_demo_copy(job, user, monkeypatch) -> StepRun:
    """source.locate then data.mirror on the demo job, through the runner and its flusher,
    sampling at every update; returns the data.mirror run. The demo's copy can end within
    50 ms, under the samples' spacing: while the steps run, each reading of the clock moves
    it 0.1 s on, so the series does not depend on the machine's speed (the real clock is
    back on return)."""
    monkeypatch.setattr(logbook, "SAMPLE_SECONDS", 0.0)
    ticks = iter(range(10**9))
    with monkeypatch.context() as clock:
        clock.setattr(logbook.time, "monotonic", lambda: 1000.0 + next(ticks) / 10)
        for key in ("source.locate", "data.mirror"):
            step = job.steps.get(key=key)
            run = StepRun.objects.create(step=step, requested_by=user, queue="test")
            runner.execute(run.pk, "test")
            run.refresh_from_db()
            assert run.status == "passed", (run.summary, run.error)
    return run
