"""Security headers on every kind of answer: pages, fragments, files, JSON, errors."""

import re
from pathlib import Path

from django.test import Client

from tests.conftest import client_for

ROOT = Path(__file__).resolve().parents[2]


def assert_headers(response, what):
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp, what
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, what
    assert "frame-ancestors 'none'" in csp, what
    if what != "static file":  # served by WhiteNoise early; a stylesheet is never framed
        assert response["X-Frame-Options"] == "DENY", what
    assert response["X-Content-Type-Options"] == "nosniff", what
    assert response["Referrer-Policy"] == "same-origin", what
    assert "camera=()" in response["Permissions-Policy"], what


def test_it_sends_the_security_headers_on_every_kind_of_answer(world, alice):
    client = client_for(alice)
    answers = {
        "login page": Client().get("/login/"),
        "job page": client.get(f"/jobs/{world.job.pk}/"),
        "log fragment": client.get(f"/jobs/{world.job.pk}/runs/{world.run.pk}/log/"),
        "csv export": client.get(f"/customers/{world.job.customer_id}/fse/export.csv"),
        "evidence file": client.get(f"/evidence/{world.evidence.pk}/"),
        "not found": client.get("/jobs/999999/"),
        "forbidden": client.get("/credentials/new/"),
        "api error": Client().post("/api/readers/report/"),
        "report": client.get(f"/jobs/{world.job.pk}/report/"),
        "static file": Client().get("/static/css/julieops.css"),
    }
    for what, response in answers.items():
        assert response.status_code < 500, what
        assert_headers(response, what)


def test_it_has_no_inline_script_or_handler_the_policy_would_block():
    inline = re.compile(
        r"<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+\s*=|javascript:", re.I
    )
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for folder in ("templates", "readers/templates", "migrations_app/templates")
        if (ROOT / folder).exists()
        for path in (ROOT / folder).rglob("*.html")
        for match in inline.finditer(path.read_text())
    ]
    assert found == []
