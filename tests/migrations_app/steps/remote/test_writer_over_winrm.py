"""The tree writer on a new server reached over WinRM: the PowerShell scripts it sends and
their parameters, through the WS-Management test endpoint. The endpoint answers like a small
Windows C: (folders listed case-preserving, files appearing once renamed into place)."""

import base64
import posixpath

import pytest

from julieops.julietree.remote import LIST_DIR
from julieops.julietree.writer import WriteRefused, remote_writer
from julieops.remote import winrm as scripts
from tests.support.wsman import WsmanEndpoint, powershell_failure, powershell_reply

NASTY = 'Dossier d\'Éloi; $(Remove-Item -Recurse ~) `ça` & "cœur"'
MTIME = 1_650_000_123.5


class WindowsDrive:
    """What the scripts would find and do on the machine (paths as the writer sends them)."""

    def __init__(self, folders, *, junctions=()):
        self.folders = set(folders)
        self.junctions = set(junctions)  # a folder that make_dirs "creates" as a junction
        self.files: dict[str, tuple[bytes, float | None]] = {}
        self.temps: dict[str, bytes] = {}
        self.calls: list[tuple[str, dict]] = []

    def entries(self, folder):
        found = []
        for path in sorted(self.folders | self.junctions):
            if posixpath.dirname(path.rstrip("/")) == folder.rstrip("/") and path != folder:
                name = posixpath.basename(path)
                found.append({"n": name, "s": 0, "m": 1e9, "d": True, "l": path in self.junctions})
        for path, (data, mtime) in sorted(self.files.items()):
            if posixpath.dirname(path) == folder.rstrip("/"):
                name = posixpath.basename(path)
                found.append({"n": name, "s": len(data), "m": mtime or 1e9, "d": False, "l": False})
        return found

    def __call__(self, command):
        job = command.powershell_job()
        script, params = job["script"], job["params"]
        self.calls.append((script, params))
        if script == scripts.STAT:
            if params["Path"] not in self.folders:
                return powershell_failure("introuvable")
            return powershell_reply({"s": 0, "m": 1e9, "d": True})
        if script == LIST_DIR:
            return powershell_reply(self.entries(params["Path"]))
        if script == scripts.MAKE_DIRS:
            if params["Path"] not in self.junctions:
                self.folders.add(params["Path"])
            return powershell_reply(None)
        if script == scripts.APPEND_FILE:
            data = base64.b64decode(params["Data"])
            self.temps[params["Path"]] = (
                b"" if params["First"] else self.temps[params["Path"]]
            ) + (data)
            return powershell_reply(None)
        if script == scripts.REPLACE_FILE:
            self.files[params["Path"]] = (self.temps.pop(params["Temp"]), params.get("Mtime"))
            return powershell_reply(None)
        if script == scripts.READ_FILE:
            return powershell_reply(base64.b64encode(self.files[params["Path"]][0]).decode())
        if script == scripts.REMOVE_FILE:
            del self.files[params["Path"]]
            return powershell_reply(None)
        raise AssertionError(f"unexpected script: {script}")

    def sent(self, script):
        return [params for s, params in self.calls if s == script]


def writer_on(endpoint):
    transport = endpoint.transport()
    return remote_writer(transport, "C:/", hostname="NOUVEAU-SERVEUR")


def test_it_writes_through_winrm_into_the_existing_folder_with_a_temporary_name():
    drive = WindowsDrive({"C:/", "C:/Windows", "C:/ProgramData"})
    with WsmanEndpoint(drive) as endpoint:
        writer = writer_on(endpoint)
        written = writer.write_file("WINDOWS/Julieprf.ini", b"[Fenetres]\r\n", mtime=MTIME)
        assert written == "Windows/Julieprf.ini"
        assert [e.relpath for e in writer.reader.list_dir("Windows")] == ["Julieprf.ini"]
    assert drive.files == {"C:/Windows/Julieprf.ini": (b"[Fenetres]\r\n", MTIME)}
    (append,) = drive.sent(scripts.APPEND_FILE)
    temp = append["Path"]
    assert temp.startswith("C:/Windows/Julieprf.ini.julieops-") and temp.endswith(".tmp")
    assert drive.sent(scripts.REPLACE_FILE) == [
        {"Temp": temp, "Path": "C:/Windows/Julieprf.ini", "Mtime": MTIME}
    ]
    assert drive.sent(scripts.MAKE_DIRS) == []  # "WINDOWS" matched the existing "Windows"
    assert drive.temps == {}


def test_it_creates_missing_folders_one_by_one_with_the_path_as_parameter():
    drive = WindowsDrive({"C:/", "C:/ProgramData"})
    with WsmanEndpoint(drive) as endpoint:
        writer = writer_on(endpoint)
        rel = f"programdata/{NASTY}/datas/Sms.db"
        assert writer.write_file(rel, b"SQLite format 3\0") == f"ProgramData/{NASTY}/datas/Sms.db"
    assert drive.sent(scripts.MAKE_DIRS) == [
        {"Path": f"C:/ProgramData/{NASTY}"},
        {"Path": f"C:/ProgramData/{NASTY}/datas"},
    ]
    assert drive.files[f"C:/ProgramData/{NASTY}/datas/Sms.db"] == (b"SQLite format 3\0", None)
    assert "Mtime" not in drive.sent(scripts.REPLACE_FILE)[0]
    for command in endpoint.commands:
        # The path only ever travels as a parameter on stdin, never in the command line.
        assert "Éloi" not in command.command_line and "Remove-Item" not in command.command_line


def test_it_refuses_to_write_through_a_junction():
    drive = WindowsDrive({"C:/", "C:/ProgramData"}, junctions={"C:/ProgramData/Application Data"})
    with WsmanEndpoint(drive) as endpoint:
        writer = writer_on(endpoint)
        with pytest.raises(WriteRefused, match="lien"):
            writer.write_file("ProgramData/Application Data/x.ini", b"x")
    assert drive.sent(scripts.APPEND_FILE) == [] and drive.files == {}


@pytest.mark.parametrize("path", ["../Windows/x.ini", "Windows/../../x.ini", "C:/x.ini",
                                  "Windows/x.ini:flux", "Windows\\..\\x.ini", ""])  # fmt: skip
def test_it_refuses_paths_leaving_the_root_without_sending_anything(path):
    drive = WindowsDrive({"C:/", "C:/Windows"})
    with WsmanEndpoint(drive) as endpoint:
        writer = writer_on(endpoint)
        sent = len(endpoint.commands)
        with pytest.raises(WriteRefused, match="hors de la cible"):
            writer.write_file(path, b"x")
        assert len(endpoint.commands) == sent


# -- steps with the new server on WinRM (HTTPS, pinned certificate) ---------------------------


def serve_drive(posts, machine, drive):
    from migrations_app.models import Credential

    endpoint = WsmanEndpoint(drive, certfile=posts.certfile, keyfile=posts.keyfile)
    posts.stack.enter_context(endpoint)
    credential = Credential(name="admin nouveau serveur", username="julie-admin")
    credential.secret = endpoint.password
    credential.save()
    machine.transport, machine.address, machine.port = "winrm", "127.0.0.1", endpoint.port
    machine.credential, machine.host_key_fingerprint = credential, posts.fingerprint
    machine.root_path = ""
    machine.save()
    return endpoint


@pytest.mark.django_db(transaction=True)
def test_it_runs_the_copy_and_removal_steps_on_a_winrm_target(make_practice, windows, alice):
    import hashlib

    from migrations_app.models import AuditEvent
    from tests.migrations_app.steps.fse.conftest import JULIE, start_and_run

    p = make_practice()
    register = (p.source_root / JULIE / "Datas/server.register").read_bytes()
    drive = WindowsDrive({"C:/", "C:/WINDOWS", "C:/partage", "C:/partage/Juliew",
                          "C:/partage/Juliew/Datas"})  # fmt: skip
    drive.files["C:/partage/Juliew/Datas/server.register"] = (register, 1e9)
    endpoint = serve_drive(windows, p.target, drive)

    run = start_and_run(p.step("data.window_layout"), alice)
    assert run.status == "passed", (run.summary, run.error)
    ini = p.source_root / "Windows/Julieprf.ini"
    assert drive.files["C:/WINDOWS/Julieprf.ini"] == (ini.read_bytes(), ini.stat().st_mtime)
    event = AuditEvent.objects.get(action="data.julieprf_ini.copy")
    assert event.data["target"]["sha256"] == hashlib.sha256(ini.read_bytes()).hexdigest()

    run = start_and_run(p.step("data.server_register"), alice)
    assert run.status == "passed", (run.summary, run.error)
    assert "C:/partage/Juliew/Datas/server.register" not in drive.files
    assert drive.sent(scripts.REMOVE_FILE) == [{"Path": "C:/partage/Juliew/Datas/server.register"}]
    assert AuditEvent.objects.get(action="data.server_register.remove").data["sha256"] == (
        hashlib.sha256(register).hexdigest()
    )
    assert drive.temps == {}
    assert endpoint.password.encode() not in b"".join(endpoint.bodies)
