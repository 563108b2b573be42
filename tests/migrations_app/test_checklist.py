import json
import re
from io import StringIO
from pathlib import Path

from django.core.management import call_command

from migrations_app import status
from migrations_app.models import JobStep
from migrations_app.steps import pxdatas
from migrations_app.steps.registry import catalogue

STEPS_MD = Path(__file__).resolve().parents[3] / "shared" / "procedure" / "STEPS.md"


def steps_md_keys() -> list[str]:
    """Keys of the catalogue tables in STEPS.md, in document order."""
    text = STEPS_MD.read_text(encoding="utf-8")
    return re.findall(r"^\| `([a-z]+\.[a-z_]+)` \|", text, flags=re.MULTILINE)


def test_it_reads_the_catalogue_of_steps_md():
    keys = steps_md_keys()
    assert len(keys) == 29 and keys[0] == "source.locate" and keys[-1] == "post.signoff"


def test_it_registers_every_step_of_steps_md_in_order():
    assert [step.key for step in catalogue()] == steps_md_keys()


def test_it_gives_each_step_the_kind_and_phase_of_steps_md():
    text = STEPS_MD.read_text(encoding="utf-8")
    phase = 0
    expected = {}
    for line in text.splitlines():
        if m := re.match(r"## Phase (\d)", line):
            phase = int(m.group(1))
        if m := re.match(r"^\| `([a-z]+\.[a-z_]+)` \| (\w+) \|", line):
            expected[m.group(1)] = (phase, m.group(2))
    assert {s.key: (s.phase, s.kind) for s in catalogue()} == expected


def test_it_builds_the_full_checklist_when_a_job_is_created(job):
    steps = list(job.steps.order_by("phase", "order"))
    assert [s.key for s in steps] == steps_md_keys()
    assert all(s.status == "todo" for s in steps)
    job.build_checklist()  # idempotent
    assert JobStep.objects.filter(job=job).count() == 29


def test_it_gives_every_step_french_instructions():
    for step in catalogue():
        assert step.title and len(step.instructions) > 40, step.key
        assert all(dep in {s.key for s in catalogue()} for dep in step.depends_on), step.key


def test_it_prints_the_catalogue_as_json():
    out = StringIO()
    call_command("steps", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert [d["key"] for d in data] == steps_md_keys()
    assert set(data[0]) == {"key", "phase", "kind", "title"}
    assert data[0]["title"] == "Localiser les données Julie"


def test_it_prints_the_catalogue_as_text():
    out = StringIO()
    call_command("steps", stdout=out)
    assert "data.pxdatas" in out.getvalue() and "approval" in out.getvalue()


def test_it_derives_the_job_status_from_its_steps(job, alice, bob):
    from migrations_app import actions

    assert job.status == "draft"
    actions.tick_step(job.steps.get(key="source.associated_services"), alice, "SMS, RDV")
    job.refresh_from_db()
    assert job.status == "in_progress"
    job.steps.filter(key="source.locate").update(status="failed")
    assert status.refresh_job(job) == "blocked"
    job.steps.exclude(kind="approval").update(status="done")
    pxdatas.request_decision(job.steps.get(key="data.pxdatas"), alice, "purge", "ARL reçus")
    actions.approve_step(job.steps.get(key="data.pxdatas"), bob, "purge validée")
    actions.tick_step(job.steps.get(key="data.pxdatas"), bob, "vu")
    job.refresh_from_db()
    assert job.status == "done"
