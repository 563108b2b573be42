"""readers.agent.report: schema validation and the agent's HTTPS POST against a real TLS server."""

import json

import pytest

from readers.agent.galss import parse_galss
from readers.agent.report import ReportError, build_report, post_report, validate_report
from tests.readers.agent.test_galss import PSS_SERIAL

VITALE = "3B 75 13 00 00 47 09 EA 90 00"
TOKEN = "s3cret-token-value"


def a_report() -> dict:
    scan = {
        "status": "ok",
        "message": "1 lecteur(s) PC/SC détecté(s).",
        "readers": [
            {
                "name": "Lecteur A 00 00",
                "state": ["present"],
                "atr": VITALE,
                "card": "vitale",
                "label": "Carte Vitale 2",
                "descriptions": [],
            }
        ],
    }
    galss = parse_galss(PSS_SERIAL).as_dict()
    return build_report(scan, galss, r"C:\Windows\galss.ini", ["galss.ini"], True)


def test_it_accepts_a_built_report():
    report = a_report()
    assert validate_report(report) == []
    assert validate_report(json.loads(json.dumps(report))) == []


def test_it_lists_every_schema_error_with_its_place():
    report = a_report()
    reader = report["pcsc"]["readers"][0]
    reader["atr"] = "3b751300004709ea9000"  # not normalised
    reader["card"] = "banque"
    reader["state"] = ["present", "on_fire"]
    report["pcsc"]["status"] = "fine"
    report["galss"]["channels"][0]["com_port"] = "8"
    report["galss_installed"] = "yes"
    report["generated_at"] = "yesterday"
    report["extra"] = 1

    errors = validate_report(report)

    assert errors[0] == "rapport : champ(s) inconnu(s) : extra"
    places = [e.split(" : ")[0] for e in errors[1:]]
    assert places == [
        "generated_at",
        "pcsc.status",
        "pcsc.readers[0].state",
        "pcsc.readers[0].atr",
        "pcsc.readers[0].card",
        "galss.channels[0].com_port",
        "galss_installed",
    ]


@pytest.mark.parametrize("bad", [None, [], "x", {"schema": "julieops-readers/1"}])
def test_it_rejects_what_is_not_a_report(bad):
    assert validate_report(bad)


def test_it_requires_card_exactly_when_an_atr_is_given():
    report = a_report()
    report["pcsc"]["readers"][0]["atr"] = None
    assert validate_report(report) == [
        "pcsc.readers[0] : « card » doit être renseigné si et seulement si « atr » l'est"
    ]


def test_it_posts_the_report_with_a_bearer_token(dashboard):
    report = a_report()

    answer = post_report(dashboard.url, TOKEN, report, cafile=dashboard.cafile)

    assert answer == {"message": "Rapport enregistré."}
    [(path, headers, body)] = dashboard.handler.received
    assert path == "/api/readers/report"
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body) == report


def test_it_refuses_an_untrusted_certificate(dashboard):
    with pytest.raises(ReportError) as caught:
        post_report(dashboard.url, TOKEN, a_report())  # system CAs only
    message = str(caught.value)
    assert message.startswith("Certificat HTTPS non valide pour localhost:")
    assert "--cafile" in message and TOKEN not in message
    assert dashboard.handler.received == []


def test_it_refuses_a_certificate_for_another_name(dashboard, tmp_path):
    other = dashboard.url.replace("localhost", "127.0.0.1")
    with pytest.raises(ReportError, match="Certificat HTTPS non valide pour 127.0.0.1"):
        post_report(other, TOKEN, a_report(), cafile=dashboard.cafile)


@pytest.mark.parametrize(
    ("status", "payload", "expected"),
    [
        (401, {"error": "invalid token"}, "Jeton refusé (HTTP 401)"),
        (403, {}, "Jeton refusé (HTTP 403)"),
        (404, {}, "Adresse introuvable (HTTP 404)"),
        (
            400,
            {"errors": ["pcsc.status : valeur attendue"]},
            "Rapport refusé par le tableau de bord (HTTP 400)\n- pcsc.status : valeur attendue",
        ),
        (500, {}, "Erreur du tableau de bord (HTTP 500) : réessayer plus tard."),
        (302, {}, "Redirection refusée (HTTP 302)"),
    ],
)
def test_it_explains_http_errors_in_french(dashboard, status, payload, expected):
    dashboard.handler.reply = (status, payload)
    with pytest.raises(ReportError) as caught:
        post_report(dashboard.url, TOKEN, a_report(), cafile=dashboard.cafile)
    assert str(caught.value).startswith(expected)
    assert TOKEN not in str(caught.value)
    assert len(dashboard.handler.received) == 1  # the redirect was not followed


def test_it_gives_up_after_the_timeout(dashboard):
    dashboard.handler.delay = 1.5
    with pytest.raises(ReportError, match=r"Pas de réponse de localhost:\d+ en 0.5 s"):
        post_report(dashboard.url, TOKEN, a_report(), timeout=0.5, cafile=dashboard.cafile)


def test_it_reports_a_refused_connection(dashboard):
    port = dashboard.server_address[1]
    dashboard.shutdown()
    dashboard.server_close()
    with pytest.raises(ReportError, match=f"Connexion refusée par localhost:{port}"):
        post_report(dashboard.url, TOKEN, a_report(), cafile=dashboard.cafile, timeout=5)


def test_it_never_sends_the_token_in_clear_or_an_invalid_report():
    with pytest.raises(ReportError, match="http:// refusée"):
        post_report("http://dashboard.example/api", TOKEN, a_report())
    with pytest.raises(ReportError, match="Jeton manquant"):
        post_report("https://localhost:1/api", " ", a_report())
    report = a_report()
    report["pcsc"]["status"] = "fine"
    with pytest.raises(ReportError, match="Rapport invalide, non envoyé"):
        post_report("https://localhost:1/api", TOKEN, report)
