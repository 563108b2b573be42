from django.core.cache import cache
from django.test import Client

from migrations_app.models import AuditEvent
from tests.conftest import PASSWORD


def setup_function():
    cache.clear()


def test_it_logs_in_and_audits_it(alice):
    client = Client()
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="login", actor_name="alice").exists()


def test_it_blocks_a_username_after_five_failures(alice, settings):
    client = Client()
    for _ in range(settings.JULIEOPS_LOGIN_MAX_FAILURES):
        response = client.post("/login/", {"username": "alice", "password": "wrong"})
        assert response.status_code == 200
        assert "incorrect" in response.content.decode()
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert "Trop de tentatives" in response.content.decode()
    failures = AuditEvent.objects.filter(action="login.failed", category="security")
    assert failures.count() == settings.JULIEOPS_LOGIN_MAX_FAILURES
    assert all("wrong" not in str(e.data) for e in failures)


def test_it_sends_security_headers(alice):
    response = Client().get("/login/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.cookies["csrftoken"]["samesite"] == "Lax"


def test_it_blocks_an_address_trying_many_usernames(alice, bob, settings):
    attacker = Client(REMOTE_ADDR="192.0.2.66")
    for n in range(settings.JULIEOPS_LOGIN_MAX_FAILURES):
        response = attacker.post("/login/", {"username": f"user{n}", "password": "x"})
        assert response.status_code == 200
    response = attacker.post("/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 429
    # Another address is not affected, and bob's own account is not blocked.
    response = Client(REMOTE_ADDR="192.0.2.7").post(
        "/login/", {"username": "bob", "password": PASSWORD}
    )
    assert response.status_code == 302


def test_it_does_not_tell_a_blocked_username_from_a_wrong_password(alice, settings):
    client = Client()
    for _ in range(settings.JULIEOPS_LOGIN_MAX_FAILURES + 2):
        response = client.post("/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 429
    blocked = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert blocked.status_code == 429 and "sessionid" not in blocked.cookies
