"""The real manage.py, run as a technician runs it (`python manage.py ARGS`, a var/ of the
test's own), with the modules it loaded: at exit they go to stderr's last line (atexit runs
after sys.exit too)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_MANAGE_PY = (
    "import atexit, json, runpy, sys; sys.argv = ['manage.py', *sys.argv[1:]]; "
    "atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr)); "
    "runpy.run_path('manage.py', run_name='__main__')"
)
SECRETS = {
    "SECRET_KEY": "startup-test-secret-key-not-for-production",
    "JULIEOPS_FERNET_KEYS": "Wc1_xS7WzY1m0fLwXsD2oU9xQ6zj1hJcYkqYVx0mJ8k=",
}


def manage_py(tmp_path, *args, **env):
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG")}
    clean.update(JULIEOPS_VAR_DIR=str(tmp_path / "var"), **SECRETS, **env)
    out = subprocess.run(
        [sys.executable, "-c", RUN_MANAGE_PY, *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
    )
    loaded = set(json.loads(out.stderr.strip().splitlines()[-1]))
    return out, loaded
