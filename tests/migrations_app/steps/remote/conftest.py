"""A practice whose NEW server is reached over SSH: the real sshd of the suite on loopback,
the machine's C: being a temporary folder, a key credential and the pinned host key. The old
server stays local (a generated tree, read-only)."""

import pytest

from migrations_app.models import Credential
from tests.migrations_app.steps.fse.conftest import make_practice, no_broker  # noqa: F401 - fixtures used here
from tests.migrations_app.steps.windows.conftest import windows  # noqa: F401 - fixture used here


def reach_over_ssh(machine, sshd, root):
    credential = Credential(name=f"clé {machine.hostname}", username=sshd.username)
    credential.secret = sshd.client_key_path.read_text()
    credential.save()
    machine.transport, machine.address, machine.port = "ssh", sshd.host, sshd.port
    machine.root_path, machine.credential = str(root), credential
    machine.host_key_fingerprint = sshd.host_key_fingerprint()
    machine.save()
    return machine


@pytest.fixture
def ssh_practice(make_practice, sshd):  # noqa: F811 - the fixture imported above
    def make(**options):
        practice = make_practice(**options)
        reach_over_ssh(practice.target, sshd, practice.target_root)
        return practice

    return make


def leftovers(root) -> list[str]:
    """Temporary files a write could leave behind (there must be none)."""
    return sorted(str(p) for p in root.rglob("*") if ".julieops" in p.name or p.suffix == ".tmp")
