"""Start-up stays lean: `manage.py help` loads neither the step catalogue, Celery, paramiko nor
WeasyPrint (each is imported by what needs it), and the registry still finds every step once
it is read. Times are measured in bench/, not here."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("celery", "paramiko", "weasyprint", "migrations_app.steps.catalogue", "kombu")

PROBE = """
import json, sys
import django
django.setup()
from django.core.management import ManagementUtility
ManagementUtility(["manage.py"]).main_help_text()
loaded = sorted(m for m in {heavy!r} if m in sys.modules)
from migrations_app.steps.registry import REGISTRY
print(json.dumps({{"loaded": loaded, "steps": len(REGISTRY), "readers": "post.readers" in REGISTRY}}))
"""


def test_manage_py_help_imports_nothing_heavy_and_the_registry_loads_on_first_read():
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY)],
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
