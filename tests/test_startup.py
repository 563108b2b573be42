"""Start-up stays lean: `manage.py help` and `manage.py mirror --help`, run as a technician runs
them, load neither the step catalogue, Celery, paramiko, smbprotocol, WeasyPrint nor psycopg
(unless PostgreSQL is the database in use), nor the admin modules, the URLconf, the WinRM layer,
the field captures or the readers' evaluation; each is imported by what needs it, and the registry still finds every step once
it is read. Times are measured in bench/ (`BENCH_PARTS=startup`), not here."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.manage_py import SECRETS, manage_py

ROOT = Path(__file__).resolve().parents[1]
HEAVY = (
    "celery",
    "kombu",
    "paramiko",
    "smbprotocol",
    "weasyprint",
    "psycopg",
    "psycopg2",
    "cryptography",
    "migrations_app.steps.catalogue",
    "migrations_app.admin",
    "migrations_app.web.forms",
    "migrations_app.execution.machines",
    "migrations_app.execution.capture",
    "julieops.remote",
    "readers.evaluation",
    "julieops.urls",
)


def heavy_in(loaded: set[str]) -> list[str]:
    return sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(
    "database",
    [
        pytest.param({}, id="sqlite-embedded-default"),
        # A production shape naming PostgreSQL: its driver is the database in use (Django's
        # auth models ask the backend for its name length), nothing else heavy is.
        pytest.param({"DATABASE_URL": "postgres://julieops@127.0.0.1:1/none"}, id="postgresql"),
    ],
)
def test_manage_py_help_loads_nothing_heavy(tmp_path, database):
    out, loaded = manage_py(tmp_path, "help", **database)
    assert out.returncode == 0, out.stderr[-2000:]
    for command in ("mirror", "steps", "verify_audit", "migrate", "runserver"):
        assert f"    {command}\n" in out.stdout  # the full list, the apps' commands included
    assert "django" in loaded  # the probe sees what Django loaded
    heavy = heavy_in(loaded)
    if database:
        assert any(m.startswith("psycopg") for m in heavy)  # the probe would see it
        heavy = [m for m in heavy if not m.startswith("psycopg")]
    assert heavy == []


def test_manage_py_mirror_help_loads_neither_django_nor_a_transport(tmp_path):
    out, loaded = manage_py(tmp_path, "mirror", "--help")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "--host-key" in out.stdout and "--smb-user" in out.stdout
    assert "julieops.mirror.cli" in loaded
    assert heavy_in(loaded) == []
    assert not any(m == "django" or m.startswith("django.") for m in loaded)


def test_the_admin_modules_load_with_the_urlconf_and_before_the_admin_checks():
    probe = (
        "import json, sys, django; django.setup()\n"
        "from django.contrib import admin\n"
        "from django.core import checks\n"
        "before = 'migrations_app.admin' in sys.modules\n"
        "errors = checks.run_checks(tags=[checks.Tags.admin])\n"
        "from migrations_app.models import Credential\n"
        "import julieops.urls\n"
        "print(json.dumps({'before': before, 'errors': [str(e) for e in errors],\n"
        "    'credential': admin.site.is_registered(Credential),\n"
        "    'readers': 'readers.admin' in sys.modules}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG")}
    env.update(SECRETS, DJANGO_SETTINGS_MODULE="julieops.settings")
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found == {"before": False, "errors": [], "credential": True, "readers": True}


PROBE_REGISTRY = """
import json, sys
import django
django.setup()
from django.core.management import ManagementUtility
ManagementUtility(["manage.py"]).main_help_text()
loaded = sorted(m for m in {heavy!r} if m in sys.modules)
from migrations_app.steps.registry import REGISTRY
print(json.dumps({{"loaded": loaded, "steps": len(REGISTRY), "readers": "post.readers" in REGISTRY}}))
"""


# What the catalogue brings (the probe runs with the suite's database, PostgreSQL).
CATALOGUE_HEAVY = ("celery", "kombu", "paramiko", "weasyprint", "migrations_app.steps.catalogue")


def test_the_registry_loads_the_catalogue_on_first_read():
    out = subprocess.run(
        [sys.executable, "-c", PROBE_REGISTRY.format(heavy=CATALOGUE_HEAVY)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["loaded"] == []
    assert found["readers"] and found["steps"] >= 29  # the catalogue (and the probe steps)


def test_manage_py_mirror_runs_the_engine_without_django(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "Datas").mkdir(parents=True)
    (src / "Datas" / "PATIENT.DAT").write_bytes(b"btrieve")
    code = (
        "import runpy, sys; sys.argv = ['manage.py', 'mirror', sys.argv[1], sys.argv[2], "
        "'--json']; import atexit; atexit.register(lambda: print('django' in sys.modules, "
        "file=sys.stderr)); runpy.run_path('manage.py', run_name='__main__')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(src), str(dst)], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 1, out.stderr  # robocopy's "files copied"
    assert json.loads(out.stdout)["files"]["copied"] == 1
    assert (dst / "Datas" / "PATIENT.DAT").read_bytes() == b"btrieve"
    assert out.stderr.strip().splitlines()[-1] == "False"


def test_the_admin_modules_are_discovered_by_one_thread_at_a_time(monkeypatch):
    """runserver imports the URLconf in one thread while another runs the checks: both ask for
    the admin modules, and two discoveries at once once left migrations_app.admin half run."""
    import threading
    import time

    from django.contrib import admin

    from julieops.apps import discover_admin

    inside, overlaps = [], []

    def slow_autodiscover():
        inside.append(1)
        if len(inside) > 1:
            overlaps.append(len(inside))
        time.sleep(0.05)
        inside.pop()

    monkeypatch.setattr(admin, "autodiscover", slow_autodiscover)
    barrier = threading.Barrier(3)

    def discover():
        barrier.wait()
        discover_admin()

    threads = [threading.Thread(target=discover) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert overlaps == []
