"""Every page of the URL configuration, with a job that went through the whole demo (runs of
every outcome, a mirror copy and its summary, FSE and SMS actions, approvals, a planned
cut-over), read in French and in English: no English phrase in French, no raw code in either
language, outside attributes and code blocks (<code>, <pre>)."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from julieops.mirror.summary import FRENCH, Summary
from migrations_app import actions, audit
from migrations_app.audit_labels import ACTION_LABELS
from migrations_app.choices import AuditCategory
from migrations_app.models import JobStep, LogLine, MigrationJob, StepRun
from migrations_app.steps.registry import REGISTRY
from tests.conftest import client_for
from tests.security.conftest import PUBLIC, app_routes, make_world

# English a French technician reported, and the usual suspects of an untranslated page.
ENGLISH = [
    "Ended :", "dry run", "Last test", "Agent token", "Forbidden", "Workers", "Not Found",
    "Server Error", "Copied", "Skipped", "Bytes/sec", "MegaBytes", "Log out", "Overview",
    "Migrations jobs", "Needs a person", "Running now", "Timeline", "Download", "Follow",
    "Queued", "Started", "Finished", "Duration", "passed", "failed", "warning", "Cut-overs",
    "Retry", "Cancel", "Status", "Step", " ago", "Open incidents", "Sign-off", "Throughput",
    "Files copied", "Actual duration", "time since", "per second", "Updated",
]  # fmt: skip
SKIPPED_TAGS = {"code", "pre", "script", "style", "textarea"}
CODES = set(ACTION_LABELS) | set(REGISTRY) | {"in_progress", "fse_rejected"}
VERDICTS = re.compile(r"^(ok|warn|fail|unknown)$")
DOT_SIZE = re.compile(r"\d\.\d+ ?(Ko|Mo|Go|To|Kio|Mio|Gio|KB|MB|GB)\b")
DOT_DURATION = re.compile(r"\d\.\d+ ?(s|min|h)\b")
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


class Text(HTMLParser):
    """The text a person reads: data outside attributes and code blocks."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_TAGS:
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in SKIPPED_TAGS and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.parts.append(data.strip())


def readable(html: str) -> list[str]:
    parser = Text()
    parser.feed(html)
    return parser.parts


def full_demo_job(job, alice, bob):
    """A job that went through the demo's phases: every kind of run, action and evidence."""
    world = make_world(job, alice)
    now = timezone.now()
    mirror = job.steps.get(key="data.mirror")
    summary = Summary(source="C:/Julie", dest="D:/Julie", dry_run=True)
    summary.files.copied, summary.bytes.copied, summary.copy_seconds = 10_000, 3_880_000, 2.5
    run = StepRun.objects.create(
        step=mirror, requested_by=alice, status="passed", params={"dry_run": True},
        queued_at=now - timedelta(minutes=9), started_at=now - timedelta(minutes=6),
        finished_at=now - timedelta(minutes=5), summary="10 000 fichiers copiés (3,7 Mo)",
        result=summary.as_json(), done_bytes=3_880_000, total_bytes=3_880_000,
        progress_samples=[[0.0, 0, 0], [1.5, 2_000_000, 5_000], [2.5, 3_880_000, 10_000]],
    )  # fmt: skip
    # A run of 4,2 s: its duration reads with a decimal comma in French.
    StepRun.objects.create(
        step=mirror, requested_by=alice, status="failed", attempt=2,
        started_at=now - timedelta(seconds=64.2), finished_at=now - timedelta(seconds=60),
        progress_samples=[[0.0, 0, 0], [2.0, 1_000_000, 10], [4.2, 1_500_000, 12]],
    )  # fmt: skip
    LogLine.objects.bulk_create(
        LogLine(run=run, seq=i, ts=now, text=line)
        for i, line in enumerate(summary.format_text(FRENCH).splitlines(), 1)
    )
    for status, minutes in (("failed", 40), ("warning", 30), ("cancelled", 20), ("running", 1)):
        StepRun.objects.create(
            step=job.steps.get(key="target.network"), requested_by=bob, status=status,
            started_at=now - timedelta(minutes=minutes),
            finished_at=None if status == "running" else now - timedelta(minutes=minutes - 1),
        )  # fmt: skip
    JobStep.objects.filter(pk=job.steps.get(key="target.network").pk).update(
        status="warning",
        result={"items": [
            {"label": "Passerelle", "status": "ok", "detail": "répond"},
            {"label": "DNS", "status": "warn", "detail": "lent"},
            {"label": "Partage", "status": "fail", "detail": "absent"},
            {"label": "Pare-feu", "status": "unknown", "detail": "illisible"},
        ]},
    )  # fmt: skip
    actions.tick_step(job.steps.get(key="source.associated_services"), alice, "Aucun service")
    for code in ("step.finished", "fse.snapshot", "sms.copy", "data.server_register.remove",
                 "data.pxdatas.copy", "install.clients.map_drive"):  # fmt: skip
        audit.record(code, category=AuditCategory.DATA, actor=alice, job=job, target="x")
    MigrationJob.objects.filter(pk=job.pk).update(
        cutover_date=timezone.localdate(), cutover_slot="evening", assignee=bob
    )
    world.mirror_run = run
    return world


def pages(world):
    # The copy's run on the job page and its chart (the walk's own run is another step's).
    job_id, run_id = world.mirror_run.step.job_id, world.mirror_run.pk
    yield "job_detail mirror run", f"/jobs/{job_id}/?step=data.mirror&run={run_id}"
    yield "run_chart mirror run", f"/jobs/{job_id}/runs/{run_id}/chart/"
    for name, route in app_routes():
        if name in PUBLIC:
            continue
        yield name, world.url(name, route)
    yield "404", "/jobs/99999999/"


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_page_reads_in_its_language_without_raw_codes(job, alice, bob, language):
    world = full_demo_job(job, alice, bob)
    client = client_for(bob)
    client.cookies["django_language"] = language
    problems = []
    seen = 0
    for name, url in pages(world):
        response = client.get(url)
        if "text/html" not in response.get("Content-Type", "") or response.status_code == 405:
            continue
        seen += 1
        for text in readable(response.content.decode()):
            words = set(re.findall(r"[\w.]+", text))
            raw = sorted(w.strip(".") for w in words if w.strip(".") in CODES)
            raw += [w for w in words if VERDICTS.match(w)]
            if raw:
                problems.append((name, url, "raw code", raw, text[:120]))
            if ISO_TIME.search(text):
                problems.append((name, url, "ISO time", text[:120]))
            if language == "fr" and (DOT_SIZE.search(text) or DOT_DURATION.search(text)):
                problems.append((name, url, "decimal point", text[:120]))
            if language == "fr":
                english = [e for e in ENGLISH if e in text]
                if english:
                    problems.append((name, url, "English", english, text[:120]))
    assert seen >= 30
    assert problems == [], "\n".join(map(repr, problems))


@pytest.mark.parametrize("language", ["fr", "en"])
def test_error_pages_are_in_the_sites_style_and_language(job, mallory, language):
    from django.test import Client

    client = client_for(mallory)
    client.cookies["django_language"] = language
    refused = client.get("/overview/")
    missing = client.get("/nowhere/")
    csrf = Client(enforce_csrf_checks=True)
    csrf.cookies["django_language"] = language
    expired = csrf.post("/login/", {"username": "x", "password": "y"})
    for response, status in ((refused, 403), (missing, 404), (expired, 403)):
        body = response.content.decode()
        assert response.status_code == status
        assert 'class="topbar"' in body and "errorpage" in body
        words = {"fr": ("Accès refusé", "Page introuvable", "Formulaire expiré"),
                 "en": ("Access refused", "Page not found", "Form expired")}[language]  # fmt: skip
        assert any(w in body for w in words), body[:300]
        if language == "fr":
            assert "Forbidden" not in body and "Not Found" not in body
