"""No secret leaves for an unconfirmed host (issue 12, reproductions 2 and 8).

A plain TCP server on 127.0.0.1 records every byte it receives: an SMB session setup (the
NTLM login) would be among them. Refused endpoints must leave it empty."""

import contextlib
import socket
import threading

import pytest

from julieops.mirror.endpoints import open_endpoint
from migrations_app.choices import Transport
from migrations_app.execution import machines
from migrations_app.models import Credential, Machine
from migrations_app.steps.mirror import _source_unc
from migrations_app.steps.registry import StepError
from migrations_app.web.forms import MachineForm

PIN = "SHA256:" + "A" * 43


class Recorder:
    """Accepts connections on 127.0.0.1 and records what arrives."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.settimeout(1)
            try:
                while chunk := conn.recv(65536):
                    self.received += chunk
                    break  # the first message (SMB negotiate) is proof enough
            except OSError:
                pass
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def recorder():
    r = Recorder()
    yield r
    r.close()


@pytest.fixture
def winrm_machine(practice, recorder):
    credential = Credential(name="admin ancien serveur", username="Administrateur")
    credential.secret = "MotDePasse-Secret-42"
    credential.save()
    return Machine.objects.create(
        site=practice.source.site, hostname="SRV-PIEGE", transport=Transport.WINRM,
        address=f"127.0.0.1:{recorder.port}", credential=credential,
    )  # fmt: skip


def _try_open(machine):
    url, kwargs = machines.endpoint_spec(machine, "Julie")
    # The recorder is no SMB server: opening fails once connected, which is all we need.
    with contextlib.suppress(Exception):
        open_endpoint(url, timeout=2, **kwargs)


def test_smb_to_an_unconfirmed_winrm_machine_sends_nothing(winrm_machine, recorder):
    with pytest.raises(StepError, match="confirm"):
        _try_open(winrm_machine)
    with pytest.raises(StepError):
        _source_unc(winrm_machine, "Julie")
    with pytest.raises(StepError):
        machines.transport_for(winrm_machine)
    assert recorder.connections == 0 and recorder.received == b""


def test_changing_the_address_clears_the_confirmation(winrm_machine, recorder):
    winrm_machine.address = "192.0.2.10"
    winrm_machine.host_key_fingerprint = PIN
    winrm_machine.save()
    assert winrm_machine.is_confirmed()
    # A technician points the confirmed machine at another host: confirmation gone.
    winrm_machine.address = f"127.0.0.1:{recorder.port}"
    winrm_machine.save()
    winrm_machine.refresh_from_db()
    assert not winrm_machine.host_key_fingerprint and not winrm_machine.is_confirmed()
    with pytest.raises(StepError):
        _try_open(winrm_machine)
    with pytest.raises(StepError):
        _source_unc(winrm_machine, "Julie")
    for change in ({"port": 5986}, {"transport": Transport.SSH}):
        m = Machine.objects.get(pk=winrm_machine.pk)
        m.host_key_fingerprint = PIN
        m.save()
        assert m.is_confirmed()
        for key, value in change.items():
            setattr(m, key, value)
        m.save()
        assert not Machine.objects.get(pk=m.pk).is_confirmed(), change
    assert recorder.connections == 0 and recorder.received == b""


def test_the_recorder_does_see_a_confirmed_machines_smb_login(winrm_machine, recorder):
    # Control: once confirmed for this very address, SMB goes there (signed), so the empty
    # recorder above is a real refusal, not a deaf server.
    winrm_machine.host_key_fingerprint = PIN
    winrm_machine.save()
    _try_open(winrm_machine)
    assert recorder.connections >= 1 and recorder.received[4:8] in (b"\xfeSMB", b"\xffSMB")
    assert _source_unc(winrm_machine, "Julie")[0] == rf"\\127.0.0.1:{recorder.port}\C$"


def test_a_local_root_outside_the_allowed_folders_is_refused(practice, settings, tmp_path):
    site = practice.source.site
    form = MachineForm({"hostname": "SRV-LOCAL", "transport": "local", "root_path": "/etc",
                        "address": ""}, site=site)  # fmt: skip
    assert not form.is_valid() and "root_path" in form.errors
    inside = tmp_path / "c"
    inside.mkdir()
    form = MachineForm({"hostname": "SRV-LOCAL", "transport": "local",
                        "root_path": str(inside), "address": ""}, site=site)  # fmt: skip
    assert form.is_valid(), form.errors
    # At run time too, even when the row was written some other way.
    machine = practice.source
    Machine.objects.filter(pk=machine.pk).update(root_path="/")
    machine.refresh_from_db()
    for call in (machines.tree_for, lambda m: machines.endpoint_spec(m, "Julie")):
        with pytest.raises(StepError, match="JULIEOPS_LOCAL_ROOTS"):
            call(machine)
    # A symbolic link inside an allowed folder does not lead out of it.
    link = tmp_path / "escape"
    link.symlink_to("/etc")
    Machine.objects.filter(pk=machine.pk).update(root_path=str(link))
    machine.refresh_from_db()
    with pytest.raises(StepError, match="JULIEOPS_LOCAL_ROOTS"):
        machines.tree_for(machine)


def test_the_embedded_default_allows_var_demo_only(settings):
    from julieops import settings as project

    assert [str(project.VAR_DIR / "demo")] == project.JULIEOPS_LOCAL_ROOTS or (
        "JULIEOPS_LOCAL_ROOTS" in __import__("os").environ
    )
