"""Field captures: the card-reader agent's report `post.readers` judged is kept with the run,
and such a run is named « non rejouée » by a replay (its verdict depends on the report's age
and the customer's cabinets, not kept in the bundle)."""

import json

import pytest

from migrations_app import capture_bundle
from migrations_app.models import RawCapture
from tests.readers.conftest import a_report
from tests.readers.test_post_readers import run_step, send

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_keeps_the_agent_report_and_does_not_pretend_to_replay_it(job, alice, bob, practice):
    send(job.target, a_report(job.target.hostname))
    run = run_step(job, alice)
    kept = RawCapture.objects.get(run=run, kind="report", hostname=job.target.hostname)
    assert kept.name == "readers.report"
    assert json.loads(kept.output)["host"]["hostname"] == job.target.hostname
    context = RawCapture.objects.get(run=run, seq=0).params
    assert context["verdict"]["status"] == run.status
    manifest = capture_bundle.load_bundle_bytes(capture_bundle.bundle_bytes(job))
    results = capture_bundle.replay_bundle(manifest, bob)
    assert [r.step for r in results] == ["post.readers"]
    assert results[0].skipped.startswith("rapport de l'agent lecteurs (NOUVEAU-SERVEUR)")
    assert "non rejouée — rapport de l'agent lecteurs" in capture_bundle.report(results)
