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
    assert set(services) == {"postgres", "redis", "web", "worker", "reaper", "beat"}
    assert "gunicorn" in services["web"]["command"]
    assert "worker" in services["worker"]["command"] and "beat" in services["beat"]["command"]
    # The reaper's queue has a worker of its own, never behind the steps' copies.
    assert "-Q reaper" in services["reaper"]["command"]
    assert "reaper" not in services["worker"]["command"]


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
    assert services["reaper"]["environment"] == services["web"]["environment"]


def _start(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "JULIEOPS_FERNET_KEYS")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = _start({"DEBUG": "0", "JULIEOPS_FERNET_KEYS": "x" * 44})
    assert result.returncode != 0
    assert "SECRET_KEY n'est pas défini" in result.stderr


def test_it_refuses_to_start_without_fernet_keys_when_debug_is_off():
    result = _start({"DEBUG": "0", "SECRET_KEY": "s" * 50})
    assert result.returncode != 0
    assert "JULIEOPS_FERNET_KEYS n'est pas défini" in result.stderr


# ---------------------------------------------------------------- the README's commands


def fresh_clone(dest: Path) -> Path:
    """The checkout's files (tracked or new, as a commit would hold them), without var/."""
    names = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, names):
        source = ROOT / name.decode()
        if source.is_file():
            target = dest / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    return dest


def clean_env() -> dict:
    """What a new user's shell has: no DEBUG, no secret, no database, no broker."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}


def readme_command(clone: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, *args], cwd=clone, env=clean_env(), capture_output=True, text=True
    )
    assert "Traceback" not in result.stderr, (args, result.stderr[-3000:])
    return result


def test_every_readme_command_works_on_a_fresh_clone_without_exports(tmp_path):
    readme = (ROOT / "README.md").read_text()
    clone = fresh_clone(tmp_path / "clone")
    source, copy = tmp_path / "source", tmp_path / "copy"
    (source / "Datas").mkdir(parents=True)
    (source / "Datas" / "PATIENT.DAT").write_bytes(b"x" * 1000)
    commands = {
        "python manage.py steps": ("manage.py", "steps"),
        "python manage.py steps [--json]": ("manage.py", "steps", "--json"),
        "python manage.py mirror SRC DST": ("manage.py", "mirror", str(source), str(copy)),
        "python manage.py inspect_tree ROOT": ("manage.py", "inspect_tree", str(source)),
        "python manage.py verify_audit": ("manage.py", "verify_audit"),
        "python manage.py demo [--reset]": ("manage.py", "demo"),
        "python manage.py rotate_secrets": ("manage.py", "rotate_secrets"),
        "python -m readers scan": ("-m", "readers", "scan"),
    }
    for shown, args in commands.items():
        assert shown.split(" [")[0] in readme, shown
        result = readme_command(clone, *args)
        # inspect_tree and the readers' scan report findings with a non-zero status, the
        # mirror answers as robocopy does (1: files copied, 8 and up: failures); the rest
        # must succeed. None may end in a traceback (checked above).
        if args[1] == "mirror":
            assert result.returncode == 1, (result.stdout[-2000:], result.stderr[-2000:])
        elif args[1] not in ("inspect_tree", "readers"):
            assert result.returncode == 0, (shown, result.stdout[-2000:], result.stderr[-2000:])
    assert json_steps(readme_command(clone, "manage.py", "steps", "--json").stdout)
    assert (copy / "Datas" / "PATIENT.DAT").read_bytes() == b"x" * 1000
    assert "Chaîne d'audit intacte" in readme_command(clone, "manage.py", "verify_audit").stdout
    assert "job #" in readme_command(clone, "manage.py", "demo").stdout  # idempotent


def json_steps(text: str) -> list:
    import json

    return json.loads(text)


def test_a_production_shape_without_its_secret_says_so_in_one_line(tmp_path):
    env = {**clean_env(), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    result = subprocess.run(
        [sys.executable, "manage.py", "steps"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "SECRET_KEY n'est pas défini" in result.stderr
