"""Fixtures for the card-reader tests: one private pcscd per session (tests/support/pcsc.py)."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support.pcsc import PcscDaemon, start_pcscd

# libpcsclite reads PCSCLITE_CSOCK_NAME once per process, at its first call: fix the socket
# path before any test runs, so that every PC/SC call of this session reaches our pcscd (or
# nothing, never a system pcscd).
_PCSC_DIR = Path(tempfile.mkdtemp(prefix="julieops-pcscd-"))
PCSC_SOCKET = _PCSC_DIR / "pcscd.comm"
os.environ["PCSCLITE_CSOCK_NAME"] = str(PCSC_SOCKET)
atexit.register(shutil.rmtree, _PCSC_DIR, ignore_errors=True)

VITALE_2 = "3B 75 13 00 00 47 09 EA 90 00"
VITALE_1 = "3F 65 25 00 2C 09 69 90 00"
CPS3 = "3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00"


@pytest.fixture(scope="session")
def _pcscd_session():
    daemon = start_pcscd(_PCSC_DIR, socket_path=PCSC_SOCKET)
    yield daemon
    daemon.stop()


@pytest.fixture
def pcscd(_pcscd_session) -> PcscDaemon:
    """The session's pcscd with both virtual readers empty; restarted if a test stopped it."""
    daemon = _pcscd_session
    _restore(daemon)
    yield daemon
    for slot in list(daemon.cards):
        daemon.remove_card(slot)
    _restore(daemon)


def _restore(daemon: PcscDaemon) -> None:
    if daemon.running and not daemon.with_readers:
        daemon.stop()
    if not daemon.running:
        daemon.start()
