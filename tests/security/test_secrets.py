"""Secrets sweep: steps that use known secrets run in a real worker, then every log line,
every page of the job, every audit row, every run record, every evidence file and the
worker's own log are searched for them."""

import json

import pytest
from django.test import Client

from migrations_app import actions
from migrations_app.models import AuditEvent, Credential, Evidence, LogLine, StepRun
from tests.drills.conftest import located, sftp_target  # noqa: F401 (fixtures)
from tests.support.worker import Worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PASSWORD_SECRET = "Pano-Xray-7f2a9c-MotDePasse!"


def needles(key_text: str) -> list[str]:
    """The password, and the private key whole and line by line (its base64 body)."""
    body = [line for line in key_text.splitlines() if len(line) >= 16 and "-----" not in line]
    assert body
    return [PASSWORD_SECRET, key_text.strip(), *body]


def finished(run):
    run.refresh_from_db()
    return run.status not in ("queued", "running")


def job_pages(client, job) -> dict[str, str]:
    urls = [
        f"/jobs/{job.pk}/",
        f"/jobs/{job.pk}/report/",
        f"/audit/?job={job.pk}",
        "/audit/",
        "/overview/",
        "/credentials/",
        f"/machines/{job.source_id}/",
        f"/machines/{job.target_id}/",
        f"/sites/{job.site_id}/",
        f"/customers/{job.customer_id}/fse/print/",
    ]
    urls += [f"/credentials/{c.pk}/edit/" for c in Credential.objects.all()]
    for step in job.steps.all():
        for run in step.runs.all():
            urls.append(f"/jobs/{job.pk}/?step={step.key}&run={run.pk}")
            urls.append(f"/jobs/{job.pk}/runs/{run.pk}/log/")
    pages = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 286), url
        pages[url] = response.content.decode()
    return pages


def test_it_never_shows_a_secret_anywhere(located, sftp_target, alice, bob, tmp_path):  # noqa: F811
    job = located
    source = job.source
    credential = Credential(name="admin de l'ancien serveur", username="Administrateur")
    credential.secret = PASSWORD_SECRET
    credential.save()
    source.credential = credential
    source.save()
    secrets = needles(job.target.credential.secret)

    worker = Worker(env={"MEDIA_ROOT": str(tmp_path / "media")})  # where this test reads
    worker.log_path = tmp_path / "worker.log"
    worker.start()
    try:
        job.site.worker_queue = worker.queue
        job.site.save()
        probe = job.steps.create(key="probe.secret", phase=9, order=1, kind="auto")
        runs = [
            actions.start_run(probe, alice),
            actions.start_run(job.steps.get(key="data.mirror"), alice),
        ]
        for run in runs:
            wait_for(lambda run=run: finished(run), timeout=120)
    finally:
        worker.stop()
    assert [r.status for r in runs] == ["passed", "passed"], [(r.summary, r.error) for r in runs]
    masked = LogLine.objects.filter(run=runs[0], text__contains="***")
    assert masked.exists()  # the probe did try to log its secret

    client = Client()
    client.force_login(bob)
    haystacks = {
        "log lines": "\n".join(LogLine.objects.values_list("text", flat=True)),
        "runs": json.dumps(
            list(StepRun.objects.values("summary", "error", "result", "params", "progress_label")),
            default=str,
        ),
        "audit": json.dumps(list(AuditEvent.objects.values()), default=str),
        "worker log": worker.log(),
        **{f"page {url}": text for url, text in job_pages(client, job).items()},
    }
    evidence = list(Evidence.objects.all())
    assert evidence  # the mirror's manifest at least
    for item in evidence:
        with item.file.open("rb") as fh:
            haystacks[f"evidence {item.name}"] = fh.read().decode("utf-8", "replace")
    leaks = [
        (where, secret[:12] + "…")
        for where, text in haystacks.items()
        for secret in secrets
        if secret in text
    ]
    assert leaks == []
    assert len(haystacks) > 20
