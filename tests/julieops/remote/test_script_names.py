"""Every PowerShell script the product sends carries a unique name on its first line."""

import importlib

import pytest

from julieops.remote.powershell import script_name

# Modules holding the scripts sent to Windows machines (module-level string constants).
SCRIPT_MODULES = [
    "julieops.remote.winrm",
    "julieops.julietree.remote",
    "julieops.windows.admin_rights",
    "julieops.windows.antivirus",
    "julieops.windows.firewall",
    "julieops.windows.freeze",
    "julieops.windows.install",
    "julieops.windows.inventory",
    "julieops.windows.network",
    "julieops.windows.robocopy_job",
    "julieops.windows.share",
    "migrations_app.steps.mirror",
    "migrations_app.execution.machines",
]


def scripts():
    for module_name in SCRIPT_MODULES:
        module = importlib.import_module(module_name)
        for attr, value in vars(module).items():
            if attr.isupper() and isinstance(value, str) and "param(" in value:
                yield f"{module_name}.{attr}", value


def test_every_script_is_named_once():
    found = dict(scripts())
    assert len(found) >= 28
    names = {where: script_name(text) for where, text in found.items()}
    unnamed = [where for where, name in names.items() if not name]
    assert not unnamed, f"scripts without a `# julieops-script:` first line: {unnamed}"
    seen: dict[str, str] = {}
    for where, name in names.items():
        assert name not in seen, f"{where} and {seen[name]} share the name {name}"
        seen[name] = where


@pytest.mark.parametrize(
    "text, name",
    [
        ("\n# julieops-script: windows.share\nparam()\n", "windows.share"),
        ("# julieops-script: files.read\r\nparam([string]$Path)", "files.read"),
        ("param()\n# julieops-script: windows.share\n", ""),  # not on the first line
        ("# julieops-script: Share\nparam()", ""),  # names are lower-case dotted
        ("# julieops-script: share\nparam()", ""),  # at least two parts
        ("", ""),
    ],
)
def test_script_name(text, name):
    assert script_name(text) == name
