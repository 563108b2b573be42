"""The production files agree with what the settings read; secrets are required."""

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def settings_variables() -> set[str]:
    text = (ROOT / "julieops" / "settings.py").read_text()
    names = set(
        re.findall(r'(?:env_bool|env_list|required_secret|environ\.get)\(\s*"([A-Z_]+)"', text)
    )
    return names


def test_it_declares_the_services_of_the_design():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    assert "gunicorn" in services["web"]["command"]
    assert "worker" in services["worker"]["command"] and "beat" in services["beat"]["command"]


def test_it_passes_only_variables_that_the_settings_read():
    env = compose()["services"]["web"]["environment"]
    assert set(env) <= settings_variables()
    for required in ("SECRET_KEY", "JULIEOPS_FERNET_KEYS", "DATABASE_URL", "CELERY_BROKER_URL"):
        assert required in env
    assert env["DEBUG"] == "0"
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:")
    assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:" in env["DATABASE_URL"]


def test_it_gives_workers_and_beat_the_same_settings_as_the_web():
    services = compose()["services"]
    assert services["worker"]["environment"] == services["web"]["environment"]
    assert services["beat"]["environment"] == services["web"]["environment"]


def _start(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "JULIEOPS_FERNET_KEYS")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = _start({"DEBUG": "0", "JULIEOPS_FERNET_KEYS": "x" * 44})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_it_refuses_to_start_without_fernet_keys_when_debug_is_off():
    result = _start({"DEBUG": "0", "SECRET_KEY": "s" * 50})
    assert result.returncode != 0
    assert "JULIEOPS_FERNET_KEYS is not set" in result.stderr
