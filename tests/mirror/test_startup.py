"""The command line starts fast: a local mirror loads no network, hashing or thread libraries."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("blake3", "paramiko", "smbprotocol", "concurrent.futures", "hashlib", "logging")


def test_it_imports_the_cli_without_heavy_modules():
    code = (
        "import sys, julieops.mirror.cli\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_it_still_offers_write_manifest_from_the_package(tmp_path):
    from julieops.mirror import write_manifest

    digest = write_manifest(str(tmp_path / "m.jsonl"), [{"path": "a", "size": 1}])
    assert len(digest) == 64 and (tmp_path / "m.jsonl").read_text().count("\n") == 2
