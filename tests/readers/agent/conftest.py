"""Fixtures for the card-reader tests: one private pcscd per session (tests/support/pcsc.py)."""

import atexit
import http.server
import json
import os
import shutil
import ssl
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.support.certs import self_signed_certificate
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


# A dashboard stand-in: a real HTTPS server on loopback with a per-test certificate.


def make_certificate(tmp_path, name: str):
    """A certificate the agent can trust as its --cafile (a CA), valid for localhost only."""
    cert, key, _der = self_signed_certificate(
        tmp_path, name, dns_names=["localhost"], addresses=(), ca=True
    )
    return cert, key


class Dashboard(http.server.BaseHTTPRequestHandler):
    """Answers like the dashboard API would, recording what it received."""

    received: list = []
    reply = (201, {"message": "Rapport enregistré."})
    delay = 0.0

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, dict(self.headers), body))
        time.sleep(type(self).delay)
        status, payload = type(self).reply
        data = json.dumps(payload).encode()
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "https://localhost:1/elsewhere")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def dashboard(tmp_path):
    cert, key = make_certificate(tmp_path, "dashboard")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = type("Handler", (Dashboard,), {"received": [], "reply": Dashboard.reply})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"https://localhost:{server.server_address[1]}/api/readers/report"
    server.cafile = str(cert)
    server.handler = handler
    yield server
    server.shutdown()
    server.server_close()
