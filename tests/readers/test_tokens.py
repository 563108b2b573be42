"""Agent tokens from the machine page: issued once, revocable, only with change_machine, audited
without the token; readers shown on the machine and job pages."""

import json
import re

from django.test import Client

from migrations_app.audit import verify_chain
from migrations_app.models import AuditEvent
from readers.models import AgentToken, ReaderReport, hash_token
from tests.conftest import client_for
from tests.readers.conftest import READER_A, READER_B, a_report, issue


def issue_url(machine):
    return f"/machines/{machine.pk}/readers/tokens/new/"


def shown_token(response) -> str:
    return re.search(r'<code id="agent-token">([^<]+)</code>', response.content.decode())[1]


def test_it_shows_a_new_token_once_with_the_agent_command(practice, alice):
    machine = practice.target
    client = client_for(alice)

    response = client.post(issue_url(machine))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    value = shown_token(response)
    page = response.content.decode()
    command = (
        f'python -m readers report --url "http://testserver/api/readers/report/" --token {value}'
    )
    assert command in page.replace("&quot;", '"')
    token = AgentToken.objects.get(machine=machine)
    assert token.token_hash == hash_token(value) and token.created_by == alice
    assert token.prefix == value[:8]

    later = client.get(machine.get_absolute_url()).content.decode()
    assert f"{value[:8]}…" in later and value not in later

    event = AuditEvent.objects.get(action="readers.token.issue")
    assert event.category == "security" and event.actor == alice
    assert event.target == f"machine:{machine.pk} NOUVEAU-SERVEUR"
    assert value not in json.dumps(event.data) + event.target + event.reason
    assert event.data == {"agent_token": token.pk, "prefix": value[:8]}
    assert verify_chain()[1] is None


def test_it_revokes_a_token_and_the_agent_is_refused(practice, bob):
    machine = practice.target
    client = client_for(bob)
    value = shown_token(client.post(issue_url(machine)))
    token = AgentToken.objects.get(machine=machine)

    response = client.post(f"/readers/tokens/{token.pk}/revoke/", follow=True)

    assert response.redirect_chain[-1][0] == machine.get_absolute_url()
    flash = re.search(r'class="flash success"[^>]*>([^<]*)<', response.content.decode())
    assert flash and f"{value[:8]}…" in flash[1]
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == bob
    event = AuditEvent.objects.get(action="readers.token.revoke")
    assert event.category == "security" and value not in json.dumps(event.data)
    refused = Client().post(
        "/api/readers/report/",
        data=json.dumps(a_report(machine.hostname)),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {value}",
    )
    assert refused.status_code == 401

    again = client.post(f"/readers/tokens/{token.pk}/revoke/")
    assert again.status_code == 302
    assert AuditEvent.objects.filter(action="readers.token.revoke").count() == 1


def test_it_lets_only_change_machine_issue_or_revoke(practice, carol, mallory, alice):
    machine = practice.target
    token, _value = AgentToken.issue(machine, alice)
    for user in (carol, mallory):
        client = client_for(user)
        assert client.post(issue_url(machine)).status_code == 403
        assert client.post(f"/readers/tokens/{token.pk}/revoke/").status_code == 403
    anonymous = Client()
    assert anonymous.post(issue_url(machine))["Location"].startswith("/login/")
    assert AgentToken.objects.count() == 1 and AgentToken.objects.active().count() == 1
    assert not AuditEvent.objects.filter(
        category="security", action__startswith="readers."
    ).exists()

    auditor_page = client_for(carol).get(machine.get_absolute_url()).content.decode()
    assert "Nouveau jeton" not in auditor_page and "New agent token" not in auditor_page
    assert f"{token.prefix}…" in auditor_page

    technician = client_for(alice)
    assert technician.get(issue_url(machine)).status_code == 405
    assert technician.post("/machines/999999/readers/tokens/new/").status_code == 404
    assert technician.post("/readers/tokens/999999/revoke/").status_code == 404


def test_it_shows_the_readers_on_the_machine_and_job_pages(job, carol):
    target = job.target
    token = issue(target)
    report = a_report(target.hostname, readers=[(READER_A, None), (READER_B, None)])
    answer = Client().post(
        "/api/readers/report/",
        data=json.dumps(report),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert answer.status_code == 201
    assert ReaderReport.objects.count() == 1
    client = client_for(carol)

    page = client.get(target.get_absolute_url()).content.decode()
    assert READER_A in page and READER_B in page
    # Both readers empty: no Vitale card, no CPS seen: the verdict says so.
    assert "Aucun lecteur ne contient une carte Vitale" in page
    assert "Lecteurs non prêts" in page

    job_page = client.get(job.get_absolute_url()).content.decode()
    assert 'id="readers"' in job_page
    assert READER_A in job_page and "Lecteurs non prêts" in job_page
    assert "POSTE-ACCUEIL" in job_page
