"""The file operations a writer needs (make_dirs, remove_file, remove_dir, set_mtime, write_file
with a modification time): for real on the worker and over SFTP to a real sshd, and through
WinRM as the PowerShell scripts and parameters the WS-Management endpoint receives."""

import os
from pathlib import Path

import pytest

from julieops.remote import PowerShellError, RemoteError, open_transport
from julieops.remote import winrm as winrm_module
from julieops.remote.powershell import BOOTSTRAP, decode_command
from tests.support.wsman import WsmanEndpoint, powershell_failure, powershell_reply

# Quote, separator, command substitution, accents: nothing here may be run as code.
NASTY = 'Dossier d\'Éloi; $(Remove-Item C:\\ -Recurse) `ça` & "cœur"'
MTIME = 1_650_000_123.75


@pytest.fixture(params=["local", "ssh"])
def transport(request, tmp_path):
    if request.param == "local":
        yield open_transport("local", "POSTE-TRAVAIL"), 1e-6
        return
    sshd = request.getfixturevalue("sshd")
    ssh = sshd.transport()
    yield ssh, 1.0  # SFTP version 3 carries whole seconds
    ssh.close()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp"))


def test_it_creates_folders_with_their_parents_and_accepts_existing_ones(transport, tmp_path):
    t, _precision = transport
    deep = tmp_path / NASTY / "ProgramData" / "Julie Software" / "datas"
    t.make_dirs(str(deep))
    assert deep.is_dir()
    t.make_dirs(str(deep))  # already there: fine
    (deep / "Sms.db").write_bytes(b"x")
    with pytest.raises(RemoteError):
        t.make_dirs(str(deep / "Sms.db" / "sous-dossier"))
    assert (deep / "Sms.db").read_bytes() == b"x"


def test_it_writes_atomically_with_the_modification_time(transport, tmp_path):
    t, precision = transport
    folder = tmp_path / NASTY
    folder.mkdir()
    target = folder / "Internet.par"
    target.write_bytes(b"ancien contenu")
    t.write_file(str(target), b"[Messagerie]\r\nserveur=\xe9", mtime=MTIME)
    assert target.read_bytes() == b"[Messagerie]\r\nserveur=\xe9"
    assert abs(target.stat().st_mtime - MTIME) < precision
    assert target.stat().st_mtime <= MTIME  # truncated, never rounded up
    t.write_file(str(folder / "sans date.ini"), b"")
    assert (folder / "sans date.ini").read_bytes() == b""
    assert leftovers(tmp_path) == []


def test_it_removes_a_file_and_refuses_folders_links_and_absent_paths(transport, tmp_path):
    t, _precision = transport
    folder = tmp_path / NASTY
    folder.mkdir()
    fse = folder / "0001.fse"
    fse.write_bytes(b"FSE")
    t.remove_file(str(fse))
    assert not fse.exists()
    with pytest.raises(RemoteError):
        t.remove_file(str(fse))
    precious = tmp_path / "précieux.btr"
    precious.write_bytes(b"data")
    (folder / "lien.btr").symlink_to(precious)
    with pytest.raises(RemoteError):
        t.remove_file(str(folder / "lien.btr"))
    with pytest.raises(RemoteError):
        t.remove_file(str(folder))
    assert folder.is_dir() and (folder / "lien.btr").is_symlink()
    assert precious.read_bytes() == b"data"


def test_it_removes_only_empty_folders(transport, tmp_path):
    t, _precision = transport
    full = tmp_path / NASTY / "plein"
    full.mkdir(parents=True)
    (full / "garde.fse").write_bytes(b"FSE")
    empty = tmp_path / NASTY / "vide"
    empty.mkdir()
    t.remove_dir(str(empty))
    assert not empty.exists()
    with pytest.raises(RemoteError):
        t.remove_dir(str(full))
    with pytest.raises(RemoteError):
        t.remove_dir(str(full / "garde.fse"))
    assert (full / "garde.fse").read_bytes() == b"FSE"


def test_it_sets_the_modification_time(transport, tmp_path):
    t, precision = transport
    target = tmp_path / f"{NASTY}.ini"
    target.write_bytes(b"x")
    t.set_mtime(str(target), MTIME)
    assert abs(os.stat(target).st_mtime - MTIME) < precision
    with pytest.raises(RemoteError):
        t.set_mtime(str(tmp_path / "absent.ini"), MTIME)


# -- WinRM: the scripts and parameters sent ---------------------------------------------------


def test_it_sends_each_operation_as_a_fixed_script_with_the_path_as_parameter():
    path = f"C:\\ProgramData\\{NASTY}\\Sms.db"
    with WsmanEndpoint(lambda c: powershell_reply(None)) as endpoint:
        t = endpoint.transport()
        t.make_dirs(f"C:\\ProgramData\\{NASTY}")
        t.remove_file(path)
        t.remove_dir(f"C:\\ProgramData\\{NASTY}")
        t.set_mtime(path, MTIME)
    jobs = [c.powershell_job() for c in endpoint.commands]
    assert [j["script"] for j in jobs] == [
        winrm_module.MAKE_DIRS,
        winrm_module.REMOVE_FILE,
        winrm_module.REMOVE_DIR,
        winrm_module.SET_MTIME,
    ]
    assert [j["params"] for j in jobs] == [
        {"Path": f"C:\\ProgramData\\{NASTY}"},
        {"Path": path},
        {"Path": f"C:\\ProgramData\\{NASTY}"},
        {"Path": path, "Mtime": MTIME},
    ]
    for command in endpoint.commands:
        # The command line is the fixed bootstrap; the path travels only on stdin (base64).
        words = command.command_line.split()
        assert decode_command(words[-1]) == BOOTSTRAP
        assert "Éloi" not in command.command_line and "Remove-Item" not in command.command_line
    for script in (winrm_module.REMOVE_FILE, winrm_module.REMOVE_DIR, winrm_module.SET_MTIME):
        assert "-LiteralPath $Path" in script
    # A file only, a folder only, an empty folder only (no -Recurse anywhere).
    assert "PSIsContainer -or" in winrm_module.REMOVE_FILE and "ReparsePoint" in (
        winrm_module.REMOVE_FILE
    )
    assert "Delete($item.FullName, $false)" in winrm_module.REMOVE_DIR
    assert all(
        "-Recurse" not in s
        for s in (winrm_module.REMOVE_FILE, winrm_module.REMOVE_DIR, winrm_module.MAKE_DIRS)
    )


def test_it_sets_the_time_on_the_temporary_file_before_the_rename():
    with WsmanEndpoint(lambda c: powershell_reply(None)) as endpoint:
        t = endpoint.transport()
        t.write_file(f"C:\\Windows\\{NASTY}.ini", b"[Fenetres]", mtime=MTIME)
        t.write_file("C:\\Windows\\Julieprf.ini", b"[Fenetres]")
    jobs = [c.powershell_job() for c in endpoint.commands]
    replaces = [j["params"] for j in jobs if j["script"] == winrm_module.REPLACE_FILE]
    assert replaces[0]["Path"] == f"C:\\Windows\\{NASTY}.ini" and replaces[0]["Mtime"] == MTIME
    assert replaces[0]["Temp"].startswith(f"C:\\Windows\\{NASTY}.ini.julieops-")
    assert "Mtime" not in replaces[1]
    script = winrm_module.REPLACE_FILE
    assert script.index("LastWriteTimeUtc") < script.index("Move-Item -LiteralPath $Temp")


def test_it_reports_a_refused_removal():
    refusal = "Suppression refusée : C:\\Juliew\\Datas n'est pas un fichier."
    with (
        WsmanEndpoint(lambda c: powershell_failure(refusal)) as endpoint,
        pytest.raises(PowerShellError) as caught,
    ):
        endpoint.transport().remove_file("C:\\Juliew\\Datas")
    assert "n'est pas un fichier" in str(caught.value)
