"""One log-in, one limit (issue 12, reproductions 1, 3, 7 and the proxy/shared-cache points)."""

import pytest
from django.core.cache import cache
from django.test import Client

from migrations_app.audit import verify_chain
from migrations_app.models import AuditEvent
from tests.conftest import PASSWORD


@pytest.fixture
def root(db, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.test", PASSWORD)


def _admin_login(client, username, password):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_the_admin_login_is_rate_limited_like_the_dashboards(root, settings):
    client = Client()
    for _ in range(settings.JULIEOPS_LOGIN_MAX_FAILURES):
        assert _admin_login(client, "root", "wrong").status_code == 200
    response = _admin_login(client, "root", PASSWORD)
    assert response.status_code == 429
    assert "Trop de tentatives" in response.content.decode()
    assert "sessionid" not in response.cookies


def test_failures_on_the_admin_and_the_dashboard_share_one_counter(root, settings):
    client = Client()
    for n in range(settings.JULIEOPS_LOGIN_MAX_FAILURES):
        url_post = (
            _admin_login
            if n % 2
            else (lambda c, u, p: c.post("/login/", {"username": u, "password": p}))
        )
        url_post(client, "root", "wrong")
    assert client.post("/login/", {"username": "root", "password": PASSWORD}).status_code == 429


def test_full_width_letters_do_not_bypass_a_locked_username(alice, settings):
    for n in range(settings.JULIEOPS_LOGIN_MAX_FAILURES):
        Client(REMOTE_ADDR=f"192.0.2.{n + 1}").post(
            "/login/", {"username": "alice", "password": "wrong"}
        )
    for name in ("ａｌｉｃｅ", "ALICE", " alice "):
        response = Client(REMOTE_ADDR="198.51.100.9").post(
            "/login/", {"username": name, "password": PASSWORD}
        )
        assert response.status_code == 429, name
        assert "sessionid" not in response.cookies


def test_a_failed_login_never_stores_the_typed_text(alice):
    Client().post("/login/", {"username": "MyS3cretPassw0rd", "password": "x"})
    Client().post("/login/", {"username": "alice", "password": "x"})
    failures = list(AuditEvent.objects.filter(action="login.failed").order_by("id"))
    assert len(failures) == 2
    for event in failures:
        assert "MyS3cretPassw0rd" not in event.actor_name + str(event.data) + event.target
        assert event.actor_name == "anonyme"
    assert [e.data["username_exists"] for e in failures] == [False, True]
    assert verify_chain()[1] is None


def test_behind_no_proxy_x_forwarded_for_is_ignored(alice, bob, settings):
    settings.JULIEOPS_TRUSTED_PROXIES = 0
    for n in range(settings.JULIEOPS_LOGIN_MAX_FAILURES):
        Client(REMOTE_ADDR="192.0.2.66", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").post(
            "/login/", {"username": f"user{n}", "password": "x"}
        )
    # Spoofed headers do not give the attacker fresh addresses.
    response = Client(REMOTE_ADDR="192.0.2.66", HTTP_X_FORWARDED_FOR="203.0.113.200").post(
        "/login/", {"username": "bob", "password": PASSWORD}
    )
    assert response.status_code == 429


def test_behind_a_trusted_proxy_one_client_does_not_lock_out_the_others(alice, bob, settings):
    settings.JULIEOPS_TRUSTED_PROXIES = 1
    proxy = "10.0.0.1"
    for n in range(settings.JULIEOPS_LOGIN_MAX_FAILURES):
        Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="192.0.2.66").post(
            "/login/", {"username": f"user{n}", "password": "x"}
        )
    blocked = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="192.0.2.66").post(
        "/login/", {"username": "bob", "password": PASSWORD}
    )
    assert blocked.status_code == 429
    # A forged left-most entry does not help: the proxy appends the real address.
    forged = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.5, 192.0.2.66").post(
        "/login/", {"username": "bob", "password": PASSWORD}
    )
    assert forged.status_code == 429
    other = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="192.0.2.7").post(
        "/login/", {"username": "bob", "password": PASSWORD}
    )
    assert other.status_code == 302


def test_counters_live_in_a_cache_every_process_shares(settings):
    backend = settings.CACHES["default"]["BACKEND"]
    assert backend.endswith(("RedisCache", "DatabaseCache")), backend
    assert "locmem" not in backend.lower()
    cache.set("login-fail:probe", 3, 60)
    from django.core.cache.backends.redis import RedisCache

    # A second, independent client of the same cache (another process) sees the count.
    other = RedisCache(settings.CACHES["default"]["LOCATION"], {"KEY_PREFIX": "julieops"})
    if backend.endswith("RedisCache"):
        assert other.get("login-fail:probe") == 3


def test_the_embedded_default_uses_the_database_cache_made_by_migrate():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "CACHE_URL")}
    env["CELERY_BROKER_URL"] = "memory://"
    out = subprocess.run(
        [sys.executable, "-c", "import django,os;os.environ['DJANGO_SETTINGS_MODULE']="
         "'julieops.settings';django.setup();from django.conf import settings;"
         "print(settings.CACHES['default']['BACKEND'])"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "django.core.cache.backends.db.DatabaseCache"


def test_the_session_lasts_the_working_day_the_settings_say(settings):
    assert settings.SESSION_COOKIE_AGE == 10 * 3600
    from pathlib import Path

    text = Path(settings.BASE_DIR, "julieops", "settings.py").read_text()
    assert "a session lasts a working day (10 hours" in text
    assert "browser day" not in text
