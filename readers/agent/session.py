"""What only the practice user's own Windows session shows, collected by the agent run in that
session (`python -m readers report`, started by the user or a task running as the logged-on
user): its network drives (a WinRM logon session has its own, and cannot reach another host's
share: the double hop), `EnableLinkedConnections` (whether an elevated Julie sees the drives
mapped unelevated) and the compatibility flags set for Julie (AppCompatFlags\\Layers of the
user's HKCU, and of HKLM).

No Django here. Off Windows, nothing is collected (None)."""

import getpass
import os
import string

LAYERS = r"Software\Microsoft\Windows NT\CurrentVersion\AppCompatFlags\Layers"
POLICIES = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"
MAX_DATAS = 10


def collect(*, values=None, mapped=None, listdir=None, user: str | None = None) -> dict | None:
    """The report's `user_session`. `values(hive, key) -> {name: value} | None`, `mapped() ->
    [(letter, remote)]`, `listdir(path) -> [names] | None` default to this Windows session."""
    if values is None:
        if os.name != "nt":
            return None
        values, mapped, listdir = _registry_values, _mapped_drives, _listdir
    drives = []
    for letter, remote in mapped():
        root = letter + "\\"
        names = listdir(root)
        datas = []
        for name in names or []:
            if name.casefold() == "datas":
                datas.append(root + name)
            else:
                inner = listdir(root + name)
                datas += [root + name + "\\" + n for n in inner or [] if n.casefold() == "datas"]
        drives.append(
            {
                "letter": letter,
                "remote": remote,
                "reachable": names is not None,
                "datas": datas[:MAX_DATAS],
            }
        )
    policies = values("HKLM", POLICIES)
    linked = None if policies is None else policies.get("EnableLinkedConnections") == 1
    layers = []
    for hive in ("HKCU", "HKLM"):
        for program, flags in sorted((values(hive, LAYERS) or {}).items()):
            if "julie" in program.casefold():
                layers.append({"hive": hive, "program": program, "flags": str(flags)})
    return {
        "user": user if user is not None else getpass.getuser(),
        "drive_mappings": drives,
        "enable_linked_connections": linked,
        "compat_layers": layers,
    }


def _registry_values(hive: str, key: str) -> dict | None:  # pragma: no cover - Windows only
    import winreg

    root = {"HKCU": winreg.HKEY_CURRENT_USER, "HKLM": winreg.HKEY_LOCAL_MACHINE}[hive]
    try:
        handle = winreg.OpenKey(root, key, 0, winreg.KEY_READ)
    except FileNotFoundError:
        return {}
    except OSError:
        return None
    found = {}
    with handle:
        for i in range(winreg.QueryInfoKey(handle)[1]):
            name, value, _kind = winreg.EnumValue(handle, i)
            found[name] = value
    return found


def _mapped_drives() -> list[tuple[str, str]]:  # pragma: no cover - Windows only
    import ctypes

    mpr, kernel = ctypes.WinDLL("mpr"), ctypes.WinDLL("kernel32")
    drives = []
    for char in string.ascii_uppercase:
        letter = char + ":"
        if kernel.GetDriveTypeW(letter + "\\") != 4:  # DRIVE_REMOTE
            continue
        size = ctypes.c_ulong(1024)
        buffer = ctypes.create_unicode_buffer(size.value)
        if mpr.WNetGetConnectionW(letter, buffer, ctypes.byref(size)) == 0:
            drives.append((letter, buffer.value))
    return drives


def _listdir(path: str) -> list[str] | None:
    try:
        return sorted(e.name for e in os.scandir(path) if e.is_dir())
    except OSError:
        return None
