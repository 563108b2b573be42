"""POST /api/readers/report/: token auth, size limit, schema validation, French 4xx answers."""

import hashlib
import json

import pytest
from django.test import Client

from readers import models as reader_models
from readers.agent.report import MAX_REPORT_BYTES
from readers.models import AgentToken, ReaderReport
from tests.readers.conftest import CPS3, READER_A, READER_B, VITALE_2, a_report, issue

URL = "/api/readers/report/"


def post(body, token: str | None = None, content_type="application/json", **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    return Client().post(URL, data=body, content_type=content_type, **headers, **extra)


def test_it_stores_a_good_report(practice):
    machine = practice.target
    token = issue(machine)

    response = post(a_report(machine.hostname), token, REMOTE_ADDR="192.0.2.7")

    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["message"] == "Rapport enregistré pour NOUVEAU-SERVEUR (2 lecteur(s))."
    report = ReaderReport.objects.get(pk=answer["id"])
    assert report.machine == machine
    assert (report.hostname, report.pcsc_status, report.reader_count) == (
        "NOUVEAU-SERVEUR",
        "ok",
        2,
    )
    assert report.galss_files == 0 and report.galss_mode == ""
    assert report.remote_addr == "192.0.2.7"
    assert [(r["name"], r["atr"]) for r in report.readers] == [
        (READER_A, VITALE_2),
        (READER_B, CPS3),
    ]
    agent = AgentToken.objects.get(machine=machine)
    assert report.token == agent and agent.last_used_at == report.received_at
    assert ReaderReport.latest_for(machine) == report
    assert ReaderReport.latest_for(practice.client) is None


def test_it_stores_the_token_hashed_only(practice):
    token, value = AgentToken.issue(practice.target)
    assert len(value) >= 43 and token.prefix == value[:8]
    assert token.token_hash == hashlib.sha256(value.encode()).hexdigest()
    stored = AgentToken.objects.filter(pk=token.pk).values()[0]
    assert value not in json.dumps(stored, default=str)
    assert value not in repr(token) and value not in str(token)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer not-the-token", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 300],
)
def test_it_refuses_a_missing_or_bad_token(practice, authorization):
    issue(practice.target)
    extra = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = Client().post(
        URL, data=json.dumps(a_report("X")), content_type="application/json", **extra
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Jeton absent, inconnu ou révoqué" in response.json()["error"]
    assert not ReaderReport.objects.exists()


def test_it_refuses_a_revoked_token(practice):
    token, value = AgentToken.issue(practice.target)
    assert post(a_report("NOUVEAU-SERVEUR"), value).status_code == 201
    assert token.revoke() is True
    assert token.revoke() is False  # once only

    response = post(a_report("NOUVEAU-SERVEUR"), value)

    assert response.status_code == 401
    assert ReaderReport.objects.count() == 1


def test_it_refuses_an_oversized_body(practice):
    token = issue(practice.target)
    report = a_report("NOUVEAU-SERVEUR")
    report["pcsc"]["message"] = "x" * (MAX_REPORT_BYTES + 1)

    response = post(report, token)

    assert response.status_code == 413
    assert "trop volumineux" in response.json()["error"]
    assert not ReaderReport.objects.exists()


def test_it_reads_no_more_than_the_declared_length(practice):
    # A body longer than its Content-Length is cut there: an unreadable report, not a crash.
    token = issue(practice.target)
    body = json.dumps(a_report("NOUVEAU-SERVEUR"))
    response = post(body, token, CONTENT_LENGTH="40")
    assert response.status_code == 400
    assert "JSON invalide" in response.json()["error"]
    assert post(body, token, CONTENT_LENGTH="12a").status_code == 400
    assert post(b"", token, CONTENT_LENGTH="0", CONTENT_TYPE="application/json").status_code == 400
    missing = post(b"", token)  # the test client sends no Content-Length for no body
    assert missing.status_code == 411 and "Content-Length" in missing.json()["error"]


def _deep(n: int) -> str:
    return "[" * n + "]" * n


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b" \n", "Corps de la requête vide"),
        (b"{not json", "JSON invalide"),
        (b"\xff\xfe{}", "texte UTF-8 attendu"),
        (_deep(100_000).encode(), "JSON invalide"),
        (b'{"schema": NaN}', "JSON invalide"),
    ],
)
def test_it_refuses_an_unreadable_body(practice, body, expected):
    response = post(body, issue(practice.target))
    assert response.status_code == 400
    assert expected in response.json()["error"]
    assert not ReaderReport.objects.exists()


def test_it_lists_the_schema_errors_in_french(practice):
    token = issue(practice.target)
    report = a_report("NOUVEAU-SERVEUR")
    report["pcsc"]["readers"][0]["atr"] = "zz"
    report["galss_installed"] = "peut-être"
    del report["host"]

    response = post(report, token)

    assert response.status_code == 400
    answer = response.json()
    assert answer["error"] == "Rapport invalide."
    assert "rapport : champ(s) manquant(s) : host" in answer["errors"]

    report = a_report("NOUVEAU-SERVEUR")
    report["pcsc"]["readers"][0]["atr"] = "zz"
    report["galss_installed"] = "peut-être"
    errors = post(report, token).json()["errors"]
    assert any(e.startswith("pcsc.readers[0].atr : ATR attendu") for e in errors)
    assert "galss_installed : vrai, faux ou null attendu" in errors

    assert post([1, 2], token).json()["errors"] == ["rapport : objet JSON attendu"]
    assert not ReaderReport.objects.exists()


@pytest.mark.parametrize("bad", ["NUL\x00", "\ud800"])
def test_it_refuses_text_the_database_cannot_hold(practice, bad):
    report = a_report("NOUVEAU-SERVEUR")
    report["pcsc"]["message"] = bad
    body = json.dumps(report)  # \u0000 and \ud800 escapes: valid JSON, unstorable text
    response = post(body, issue(practice.target))
    assert response.status_code == 400
    assert "caractère nul ou Unicode non valide" in response.json()["error"]


def test_it_wants_json_posted(practice):
    token = issue(practice.target)
    body = json.dumps(a_report("NOUVEAU-SERVEUR"))
    form = post(body, token, content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415 and "application/json" in form.json()["error"]

    for method in ("get", "put", "delete"):
        response = getattr(Client(), method)(URL, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 405
        assert response["Allow"] == "POST"
        assert "POST" in response.json()["error"]


def test_it_keeps_only_the_latest_reports_of_a_machine(practice, monkeypatch):
    monkeypatch.setattr(reader_models, "REPORTS_KEPT", 3)
    token = issue(practice.target)
    other = issue(practice.client)
    assert post(a_report("POSTE-ACCUEIL"), other).status_code == 201
    ids = [post(a_report("NOUVEAU-SERVEUR"), token).json()["id"] for _ in range(5)]
    kept = set(ReaderReport.objects.filter(machine=practice.target).values_list("pk", flat=True))
    assert kept == set(ids[-3:])
    assert ReaderReport.objects.filter(machine=practice.client).count() == 1
