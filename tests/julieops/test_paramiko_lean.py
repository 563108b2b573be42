"""paramiko is imported without invoke (half its import time), and invoke still imports."""

import subprocess
import sys


def test_paramiko_loads_without_invoke_and_invoke_still_imports_afterwards():
    probe = (
        "import sys\n"
        "import julieops.mirror.endpoints.sftp, julieops.remote.ssh, julieops.remote.hostkeys\n"
        "import paramiko.config\n"
        "print('invoke' in sys.modules, paramiko.config.invoke)\n"
        "import invoke\n"
        "print(invoke.__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "None", "invoke"]


def test_it_leaves_an_invoke_already_imported_alone():
    probe = (
        "import invoke, sys\n"
        "from julieops.paramiko_lean import paramiko\n"
        "import paramiko.config\n"
        "print(sys.modules['invoke'] is invoke, paramiko.config.invoke is invoke)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]
