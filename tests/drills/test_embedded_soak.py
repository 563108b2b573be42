"""Soak: the embedded default (scripts/run-embedded.sh: SQLite, the embedded broker, the step
worker, the reaper's worker with beat) under continuous runs for 3 minutes, from a clean
environment: no worker death, no run left queued or running, every run passed."""

import json
import os
import subprocess
import sys

import pytest

from tests.support.processes import ROOT

pytestmark = pytest.mark.slow

MINUTES = float(os.environ.get("JULIEOPS_SOAK_MINUTES", "3"))


def test_the_embedded_default_stays_up_under_continuous_runs(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/"),
        "BENCH_SOAK_RESULTS": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bench", "soak", str(MINUTES)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=MINUTES * 60 + 600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads((tmp_path / "soak.json").read_text())
    print(json.dumps(figures, indent=2))
    assert figures["minutes"] >= MINUTES * 0.98
    assert figures["worker_deaths"] == 0, figures
    assert figures["decode_errors"] == 0, figures
    assert figures["left_queued"] == 0 and figures["left_running"] == 0, figures
    assert figures["runs_ended"] == figures["runs_sent"] > 0, figures
    assert figures["by_status"] == {"passed": figures["runs_sent"]}, figures
    # Continuous: at least a run a second on average even on two shared cores.
    assert figures["runs_per_minute"] >= 60, figures
