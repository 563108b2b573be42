import pytest

from tests.support.samba import start_samba


@pytest.fixture(scope="session")
def samba(tmp_path_factory):
    server = start_samba(tmp_path_factory.mktemp("samba"))
    yield server
    server.stop()
