"""Shared fixtures. Service-backed fixtures live in tests/support/ and are started lazily."""

import pytest

from tests.support.sshd import start_sshd


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()
