"""Session, cookie and password settings, as configured and as deployed (DEBUG off)."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from tests.conftest import PASSWORD
from tests.support.worker import ROOT


def deployed_settings(**env) -> subprocess.CompletedProcess:
    """Import the settings in a fresh process with the given environment."""
    base = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECURE_COOKIES")}
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps({k: getattr(settings, k) for k in ("
        "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'DEBUG')}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "julieops.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_marks_cookies_secure_when_debug_is_off():
    result = deployed_settings(DEBUG="0")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "DEBUG": False,
    }


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = deployed_settings(DEBUG="0", SECRET_KEY="")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


def test_it_keeps_sessions_http_only_same_site_and_shorter_than_a_working_day():
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.SESSION_COOKIE_SAMESITE == settings.CSRF_COOKIE_SAMESITE == "Lax"
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert settings.X_FRAME_OPTIONS == "DENY"


@pytest.mark.parametrize(
    "password",
    ["court", "onze-lettre", "123456789012345", "password1234", "alice-dupont-2024"],
)
def test_it_refuses_weak_passwords(password, django_user_model, db):
    user = django_user_model(username="alice-dupont-2024", first_name="Alice")
    with pytest.raises(ValidationError):
        validate_password(password, user)


def test_it_accepts_a_long_unusual_password(db):
    validate_password("Molaire-Panoramique-2031!")
    minimum = next(
        v["OPTIONS"]["min_length"]
        for v in settings.AUTH_PASSWORD_VALIDATORS
        if v["NAME"].endswith("MinimumLengthValidator")
    )
    assert minimum >= 12


def test_it_sets_an_http_only_session_cookie_and_rotates_it_at_login(alice):
    client = Client()
    client.get("/login/")
    client.cookies["sessionid"] = "fixation-attempt"
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie.value != "fixation-attempt"
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_it_ends_the_session_at_logout(alice):
    client = Client()
    client.post("/login/", {"username": "alice", "password": PASSWORD})
    stolen = client.cookies["sessionid"].value
    assert client.get("/jobs/").status_code == 200
    assert client.post("/logout/").status_code == 302
    replay = Client()
    replay.cookies["sessionid"] = stolen
    response = replay.get("/jobs/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def _compose_environment() -> dict[str, str]:
    """docker-compose.yml's app environment, each ${VAR:-default} at its default and each
    required ${VAR:?…} given a test value."""
    import re
    import secrets

    import yaml

    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = document["x-app"]["environment"]
    required = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "JULIEOPS_FERNET_KEYS": os.environ["JULIEOPS_FERNET_KEYS"],
        "POSTGRES_PASSWORD": "x",
    }

    def fill(value: str) -> str:
        value = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: m.group(2), str(value))
        return re.sub(r"\$\{(\w+):\?[^}]*\}", lambda m: required[m.group(1)], value)

    return {key: fill(value) for key, value in env.items()}


def test_check_deploy_with_the_compose_production_settings_gives_no_warning(tmp_path):
    env = _compose_environment()
    env["JULIEOPS_VAR_DIR"] = str(tmp_path)  # /var/lib/julieops is the container's
    env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    env["CELERY_BROKER_URL"] = os.environ["CELERY_BROKER_URL"]
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
