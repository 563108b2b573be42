"""One handler per script name (`# julieops-script: <name>` on the script's first line): each
reads or changes a post's state and answers in the shape the real script's JSON has
(`ConvertTo-Json` of the same objects: enums as numbers where the script leaves them, as text
where it calls `.ToString()`). A name without a handler fails as PowerShell would fail, with
« script inconnu du simulateur : <nom> »: a new script is noticed, never answered ok."""

from __future__ import annotations

import base64
import copy
import datetime
import fnmatch
import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from training.state import PathOutside, State


class ScriptFailure(Exception):
    """What the bootstrap reports as `{ok: false, error: …}` (a terminating PowerShell error)."""


Handler = Callable[["Simulator", str, dict, dict], object]
HANDLERS: dict[str, Handler] = {}


def handles(name: str):
    def register(func):
        HANDLERS[name] = func
        return func

    return register


class Simulator:
    """The handlers' view of the practice: the state, and the robocopy tasks running now."""

    def __init__(self, state: State):
        self.state = state
        self.tasks: dict[str, dict] = {}
        self._recover_tasks()

    def run(self, post: str, name: str, params: dict, secrets: dict):
        handler = HANDLERS.get(name)
        if handler is None:
            raise ScriptFailure(f"script inconnu du simulateur : {name or '(sans nom)'}")
        with self.state.lock:
            self.state.refresh()
            result = handler(self, post, params or {}, secrets or {})
            self.state.save()
        return result

    def path(self, post: str, windows: str) -> Path:
        try:
            return self.state.local_path(post, windows)
        except PathOutside as exc:
            raise ScriptFailure(str(exc)) from None

    def _recover_tasks(self) -> None:
        """A copy running when the simulator stopped is lost (a real scheduled task would go
        on): its log says so and its exit code is 16, so the step fails instead of waiting."""
        for name, post in self.state.posts.items():
            for task in (post.get("tasks") or {}).values():
                if task.get("state") == "Running":
                    log = self.state.local_path(name, task["log"])
                    _append_log(log, ["", "ERREUR : simulateur redémarré pendant la copie."])
                    self.state.local_path(name, task["exit_file"]).write_text("16")
                    task["state"] = "Ready"
        self.state.save()


# -- helpers ---------------------------------------------------------------------------------


def _like(value: str, patterns) -> bool:
    """PowerShell's -like: wildcards, case-insensitive."""
    return any(fnmatch.fnmatchcase((value or "").casefold(), p.casefold()) for p in patterns or [])


def _mtime(path: Path) -> float:
    return round(path.stat().st_mtime * 1000) / 1000


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _services(post: dict, patterns, start: bool = False) -> list[dict]:
    keys = ("Name", "DisplayName", "Status") + (("StartType",) if start else ())
    found = [
        s
        for s in sorted(post["services"], key=lambda s: s["Name"].casefold())
        if _like(s["Name"], patterns) or _like(s["DisplayName"], patterns)
    ]
    return [{k: s[k] for k in keys} for s in found]


def _service(post: dict, name: str) -> dict:
    for service in post["services"]:
        if service["Name"].casefold() == name.casefold():
            return service
    raise ScriptFailure(f"Cannot find any service with service name '{name}'.")


def _processes(post: dict, names) -> list[dict]:
    wanted = {n.casefold() for n in names or []}
    return [
        {"Name": p["Name"], "Id": p["Id"]}
        for p in post["processes"]
        if p["Name"].casefold() in wanted
    ]


# -- files.* (RemoteTree, the remote writer) --------------------------------------------------


@handles("files.read")
def files_read(sim, post, params, secrets):
    path = sim.path(post, params["Path"])
    if not path.is_file():
        raise ScriptFailure(f"Could not find file '{params['Path']}'.")
    return base64.b64encode(path.read_bytes()).decode("ascii")


@handles("files.append")
def files_append(sim, post, params, secrets):
    path = sim.path(post, params["Path"])
    if not path.parent.is_dir():
        raise ScriptFailure(f"Could not find a part of the path '{params['Path']}'.")
    with path.open("wb" if params.get("First") else "ab") as stream:
        stream.write(base64.b64decode(params.get("Data") or ""))


@handles("files.replace")
def files_replace(sim, post, params, secrets):
    temp, path = sim.path(post, params["Temp"]), sim.path(post, params["Path"])
    if not temp.is_file():
        raise ScriptFailure(f"Cannot find path '{params['Temp']}' because it does not exist.")
    if params.get("Mtime") is not None:
        os.utime(temp, (float(params["Mtime"]), float(params["Mtime"])))
    os.replace(temp, path)


@handles("files.remove_temp")
def files_remove_temp(sim, post, params, secrets):
    path = sim.path(post, params["Path"])
    if path.is_file():
        path.unlink()


@handles("files.make_dirs")
def files_make_dirs(sim, post, params, secrets):
    path = sim.path(post, params["Path"])
    if path.is_file():
        raise ScriptFailure(
            f"Cannot create '{params['Path']}' because a file with that name exists."
        )
    path.mkdir(parents=True, exist_ok=True)


@handles("files.remove_file")
def files_remove_file(sim, post, params, secrets):
    path = sim.path(post, params["Path"])
    if not _exists(path):
        raise ScriptFailure(f"Cannot find path '{params['Path']}' because it does not exist.")
    if path.is_dir() or path.is_symlink():
        raise ScriptFailure(f"Suppression refusée : {params['Path']} n'est pas un fichier.")
    path.unlink()


@handles("files.remove_dir")
def files_remove_dir(sim, post, params, secrets):
    path = sim.path(post, params["Path"])
    if not path.is_dir():
        raise ScriptFailure(f"Suppression refusée : {params['Path']} n'est pas un dossier.")
    try:
        path.rmdir()
    except OSError:
        raise ScriptFailure("The directory is not empty.") from None


@handles("files.set_mtime")
def files_set_mtime(sim, post, params, secrets):
    path = sim.path(post, params["Path"])
    if not _exists(path):
        raise ScriptFailure(f"Cannot find path '{params['Path']}' because it does not exist.")
    os.utime(path, (float(params["Mtime"]), float(params["Mtime"])))


@handles("files.stat")
def files_stat(sim, post, params, secrets):
    path = sim.path(post, params["Path"])
    if not _exists(path):
        raise ScriptFailure(f"Cannot find path '{params['Path']}' because it does not exist.")
    is_dir = path.is_dir()
    return {"s": 0 if is_dir else path.stat().st_size, "m": _mtime(path), "d": is_dir}


@handles("files.list_tree")
def files_list_tree(sim, post, params, secrets):
    root = sim.path(post, params["Path"])
    if not root.is_dir():
        raise ScriptFailure(f"Cannot find path '{params['Path']}' because it does not exist.")
    found = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        for name in sorted(dirs) + sorted(files):
            child = base / name
            rel = child.relative_to(root)
            is_dir = child.is_dir() and not child.is_symlink()
            found.append(
                {
                    "p": "\\".join(rel.parts),
                    "s": 0 if is_dir else child.stat().st_size,
                    "m": _mtime(child),
                    "d": is_dir,
                }
            )
    return found


@handles("files.list_dir")
def files_list_dir(sim, post, params, secrets):
    root = sim.path(post, params["Path"])
    if not root.is_dir():
        raise ScriptFailure(f"Cannot find path '{params['Path']}' because it does not exist.")
    return [
        {
            "n": child.name,
            "s": 0 if child.is_dir() else child.stat().st_size,
            "m": _mtime(child),
            "d": child.is_dir(),
            "l": child.is_symlink(),
        }
        for child in sorted(root.iterdir())
    ]


@handles("machine.fixed_drives")
def fixed_drives(sim, post, params, secrets):
    return sorted(sim.state.post(post)["drives"])


@handles("mirror.destination_state")
def destination_state(sim, post, params, secrets):
    path = sim.path(post, params["Path"])
    exists = path.is_dir()
    return {
        "Exists": exists,
        "Entries": len(list(path.iterdir())) if exists else 0,
        "Julie": exists and (path / "Datas").exists(),
    }


# -- windows.* (prerequisites, installation) --------------------------------------------------


@handles("windows.inventory")
def inventory(sim, post, params, secrets):
    p = sim.state.post(post)
    hw = p["hardware"]
    return {
        "ComputerSystem": _computer(p) | {"TotalPhysicalMemory": hw["memory"]},
        "OperatingSystem": hw["os"] | {"SystemDrive": "C:"},
        "Processor": [{"Name": hw["cpu"], "NumberOfCores": hw["cores"]}],
        "Disks": [
            {
                "DeviceID": letter,
                "Size": hw["disk"],
                "FreeSpace": hw["disk"] // 2,
                "FileSystem": "NTFS",
            }
            for letter in sorted(p["drives"])
        ],
        "Adapters": p["network"]["adapters"],
    }


def _computer(p: dict) -> dict:
    net = p["network"]
    return {
        "Name": p["hostname"],
        "Domain": net["workgroup"],
        "Workgroup": net["workgroup"],
        "PartOfDomain": False,
    }


@handles("windows.network")
def network(sim, post, params, secrets):
    p = sim.state.post(post)
    net = p["network"]
    return {
        "ComputerSystem": _computer(p),
        "NetworkAdapterConfiguration": [
            {
                "Description": a["InterfaceDescription"],
                "Index": index,
                "IPAddress": [p["lan_address"]],
                "TcpipNetbiosOptions": net["netbios"],
            }
            for index, a in enumerate(net["adapters"], start=1)
        ],
        "Adapters": net["adapters"],
        "Quser": net["quser"],
        "RemoteLogons": net["remote_logons"],
    }


ACCESS_TYPES = {"Allow": 0, "Deny": 1}
ACCESS_RIGHTS = {"Full": 0, "Change": 1, "Read": 2, "Custom": 3}


@handles("windows.share")
def share(sim, post, params, secrets):
    p = sim.state.post(post)
    path, name, everyone = params["Path"], params["Name"], p["everyone_name"]
    folder = sim.path(post, path)
    if params.get("Apply"):
        folder.mkdir(parents=True, exist_ok=True)
        found = _share(p, name)
        if found is None:
            p["shares"].append(
                {"Name": name, "Path": path, "Description": "", "Special": False,
                 "Access": [{"AccountName": everyone, "AccessControlType": "Allow",
                             "AccessRight": "Full"}]}
            )  # fmt: skip
        else:
            _grant(found, everyone, "Full")
        acl = p["acl"].setdefault(path.casefold(), [])
        acl.append(
            {"IdentityReference": everyone, "Sid": "S-1-1-0", "FileSystemRights": "FullControl",
             "AccessControlType": "Allow", "InheritanceFlags": "ContainerInherit, ObjectInherit"}
        )  # fmt: skip
    found = _share(p, name)
    return {
        "Share": {k: found[k] for k in ("Name", "Path", "Description")} if found else None,
        "Shares": [
            {"Name": s["Name"], "Path": s["Path"], "Special": s["Special"], "ShareType": 0}
            for s in p["shares"]
        ],
        "ShareAccess": [
            {
                "AccountName": a["AccountName"],
                "AccessControlType": ACCESS_TYPES[a["AccessControlType"]],
                "AccessRight": ACCESS_RIGHTS[a["AccessRight"]],
            }
            for a in (found or {}).get("Access", [])
        ],
        "Acl": copy.deepcopy(p["acl"].get(path.casefold())) if folder.is_dir() else None,
        "EveryoneName": everyone,
        "Drive": {
            "DeviceID": path[:2].upper(),
            "DriveType": 3,
            "ProviderName": None,
            "FileSystem": "NTFS",
        },
    }


def _share(p: dict, name: str) -> dict | None:
    return next((s for s in p["shares"] if s["Name"].casefold() == name.casefold()), None)


def _grant(share: dict, account: str, right: str) -> None:
    for access in share["Access"]:
        if access["AccountName"].casefold() == account.casefold():
            access.update(AccessControlType="Allow", AccessRight=right)
            return
    share["Access"].append(
        {"AccountName": account, "AccessControlType": "Allow", "AccessRight": right}
    )


@handles("windows.firewall")
def firewall(sim, post, params, secrets):
    p = sim.state.post(post)
    rules = p["firewall"]
    if params.get("Apply"):
        for port, name in zip(params.get("Ports") or [], params.get("Names") or [], strict=False):
            open_ = any(
                r["Direction"] == "Inbound"
                and r["Protocol"] in ("TCP", "Any")
                and (str(port) in r["LocalPort"] or "Any" in r["LocalPort"])
                for r in rules
            )
            if not open_:
                rules.append(
                    {"DisplayName": f"JulieOps - {name} {port}", "Direction": "Inbound",
                     "Protocol": "TCP", "LocalPort": [str(port)], "Program": "Any"}
                )  # fmt: skip
        for direction in ("Inbound", "Outbound"):
            exe = params.get("JulieExe") or ""
            if not any(r["Direction"] == direction and r["Program"] == exe for r in rules):
                rules.append(
                    {"DisplayName": f"JulieOps - Julie.exe ({direction})", "Direction": direction,
                     "Protocol": "Any", "LocalPort": ["Any"], "Program": exe}
                )  # fmt: skip
    return {"Rules": copy.deepcopy(rules)}


@handles("windows.antivirus")
def antivirus(sim, post, params, secrets):
    defender = sim.state.post(post)["defender"]
    if params.get("Apply"):
        for kind, key in (("ExclusionProcess", "Processes"), ("ExclusionPath", "Paths")):
            for value in params.get(key) or []:
                if value.casefold() not in {v.casefold() for v in defender[kind]}:
                    defender[kind].append(value)
    # Get-MpPreference shows $null for an empty list.
    return {k: list(v) or None for k, v in defender.items()}


@handles("windows.admin_rights")
def admin_rights(sim, post, params, secrets):
    layers = sim.state.post(post)["compat_layers"]
    exe = params["JulieExe"]
    found = {hive: layers.get(hive, {}).get(exe) for hive in ("HKCU", "HKLM")}
    if params.get("Fix") and found["HKLM"]:
        kept = [f for f in found["HKLM"].split() if f in ("~", "RUNASADMIN")]
        if "RUNASADMIN" in kept:
            layers["HKLM"][exe] = "~ RUNASADMIN"
        else:
            layers["HKLM"].pop(exe, None)
        found["HKLM"] = layers["HKLM"].get(exe)
    return found


@handles("windows.install")
def install(sim, post, params, secrets):
    p = sim.state.post(post)
    juliew = params["Juliew"].rstrip("\\")
    registry = [
        {"Source": key, "Name": name, "Value": value}
        for key in params.get("RegistryKeys") or []
        for name, value in (p["registry"].get(key) or {}).items()
    ]
    inis = []
    for where in (juliew + r"\Julie.ini", r"C:\Windows\Julie.ini"):
        try:
            file = sim.path(post, where)
        except ScriptFailure:
            continue
        if file.is_file():
            inis.append({"Source": where, "Text": file.read_bytes().decode("cp1252")})
    running = {pr["Name"].casefold() for pr in p["processes"]}
    return {
        "JulieExe": sim.path(post, juliew + r"\Julie.exe").is_file(),
        "Servcle": "servcle" in running,
        "Listen1947": "servcle" in running or "hasplms" in running,
        "Config": {"Registry": registry, "Ini": inis},
    }


# -- cutover.* ---------------------------------------------------------------------------------


@handles("cutover.open_programs")
def open_programs(sim, post, params, secrets):
    return {"Processes": _processes(sim.state.post(post), params.get("Processes"))}


def _data_shares(p: dict, data_path: str) -> list[dict]:
    if not data_path:
        return []
    full = data_path.rstrip("\\").casefold()
    return [
        s
        for s in p["shares"]
        if not s["Name"].endswith("$")
        and s["Path"]
        and (
            full == s["Path"].rstrip("\\").casefold()
            or full.startswith(s["Path"].rstrip("\\").casefold() + "\\")
        )
    ]


def _share_state(p: dict, data_path: str) -> list[dict]:
    return [
        {"Name": s["Name"], "Path": s["Path"], "Access": copy.deepcopy(s["Access"])}
        for s in _data_shares(p, data_path)
    ]


@handles("cutover.freeze")
def freeze(sim, post, params, secrets):
    p = sim.state.post(post)
    data_path, patterns = params.get("DataPath") or "", params.get("ServicePatterns")
    shares_before, services_before = _share_state(p, data_path), _services(p, patterns)
    if params.get("Apply"):
        for found in services_before:
            if found["Status"] == "Running":
                _service(p, found["Name"])["Status"] = "Stopped"
        for found in _data_shares(p, data_path):
            for access in found["Access"]:
                if access["AccessControlType"] == "Allow" and access["AccessRight"] != "Read":
                    access["AccessRight"] = "Read"
    return {
        "SharesBefore": shares_before,
        "Shares": _share_state(p, data_path),
        "ServicesBefore": services_before,
        "Services": _services(p, patterns),
        "Processes": _processes(p, params.get("Processes")),
    }


@handles("cutover.unfreeze")
def unfreeze(sim, post, params, secrets):
    p = sim.state.post(post)
    state = json.loads(params["StateJson"])
    for before in state.get("SharesBefore") or []:
        found = _share(p, before["Name"])
        if found is None:
            raise ScriptFailure(
                f"No MSFT_SMBShare objects found with property 'Name' equal to '{before['Name']}'."
            )
        for access in before.get("Access") or []:
            if access["AccessControlType"] == "Allow":
                _grant(found, access["AccountName"], access["AccessRight"])
    for before in state.get("ServicesBefore") or []:
        if before["Status"] == "Running":
            service = _service(p, before["Name"])
            if service["StartType"] == "Disabled":
                raise ScriptFailure(
                    f"Service '{service['DisplayName']} ({service['Name']})' cannot be started due "
                    f"to the following error: Cannot start service {service['Name']} on computer '.'."
                )
            service["Status"] = "Running"
    return {
        "Shares": [
            {"Name": s["Name"], "Access": copy.deepcopy(_share(p, s["Name"])["Access"])}
            for s in state.get("SharesBefore") or []
        ],
        "Services": [
            {"Name": s["Name"], "Status": _service(p, s["Name"])["Status"]}
            for s in state.get("ServicesBefore") or []
        ],
    }


@handles("cutover.retire")
def retire(sim, post, params, secrets):
    p = sim.state.post(post)
    patterns = params.get("ServicePatterns")
    before = _services(p, patterns, start=True)
    if params.get("Apply"):
        for found in before:
            service = _service(p, found["Name"])
            service["Status"] = "Stopped"
            service["StartType"] = "Disabled"
    return {"ServicesBefore": before, "Services": _services(p, patterns, start=True)}


# -- robocopy.* (the scheduled task on the new server) -----------------------------------------


def _append_log(path: Path, lines: list[str]) -> None:
    """robocopy /UNILOG+: UTF-16LE with a BOM, CRLF line ends, appended."""
    data = "".join(line + "\r\n" for line in lines).encode("utf-16-le")
    if not path.exists() or path.stat().st_size == 0:
        data = b"\xff\xfe" + data
    with path.open("ab") as stream:
        stream.write(data)


def _robocopy_date(when: float) -> str:
    return datetime.datetime.fromtimestamp(when).strftime("%A, %d %B %Y %H:%M:%S")


@handles("robocopy.start")
def robocopy_start(sim, post, params, secrets):
    from julieops.mirror import MirrorOptions, open_endpoint, run_mirror
    from julieops.mirror.summary import ENGLISH

    p = sim.state.post(post)
    job_dir = sim.path(post, params["JobDir"])
    job_dir.mkdir(parents=True, exist_ok=True)
    task = params["TaskName"]
    arguments = list(params.get("Arguments") or [])
    source_text, dest_text = arguments[0], arguments[1]
    log_text = next(a.split(":", 1)[1] for a in arguments if a.upper().startswith("/UNILOG+:"))
    exit_text = params["JobDir"].rstrip("\\") + f"\\{task}.exit"
    log, exit_file = sim.path(post, log_text), sim.path(post, exit_text)
    # The task's own files, as START_SCRIPT writes them (the secret file is read and deleted
    # by the task before anything else: it is never written here).
    (job_dir / f"{task}.ps1").write_text(params.get("TaskScript") or "", encoding="utf-8")
    config = {"ShareRoot": params.get("ShareRoot"), "UserName": params.get("UserName"),
              "Arguments": arguments, "ExitFile": exit_text}  # fmt: skip
    (job_dir / f"{task}.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    excluded = []
    if "/XF" in arguments:
        for value in arguments[arguments.index("/XF") + 1 :]:
            if value.startswith("/"):
                break
            prefix = source_text.rstrip("\\") + "\\"
            rel = value[len(prefix) :] if value.casefold().startswith(prefix.casefold()) else value
            excluded.append(rel.replace("\\", "/"))
    record = {"state": "Running", "log": log_text, "exit_file": exit_text, "started": time.time()}
    p.setdefault("tasks", {})[task] = record
    stop = threading.Event()
    sim.tasks[task] = {"stop": stop}

    def header(started):
        return [
            "-" * 79,
            "   ROBOCOPY     ::     Robust File Copy for Windows                              ",
            "-" * 79,
            "",
            f"  Started : {_robocopy_date(started)}",
            f"   Source : {source_text.rstrip(chr(92))}\\",
            f"     Dest : {dest_text.rstrip(chr(92))}\\",
            "",
            "    Files : *.*",
            "",
            "  Options : *.* " + " ".join(a for a in arguments[2:] if a.startswith("/")),
            "",
            "-" * 78,
            "",
        ]

    def copy_job():
        started = time.time()
        lines = header(started)
        code = 16
        try:
            source_post = _share_owner(sim, params.get("ShareRoot") or "")
            if (
                source_post is None
                or secrets.get("Password") != sim.state.post(source_post)["password"]
            ):
                lines += [
                    f"{time.strftime('%Y/%m/%d %H:%M:%S')} ERROR 5 (0x00000005) Accessing Source "
                    f"Directory {source_text}\\",
                    "Access is denied.",
                ]
                return
            source = sim.state.local_path(source_post, source_text)
            dest = sim.state.local_path(post, dest_text)
            dest.mkdir(parents=True, exist_ok=True)
            _append_log(log, lines)
            lines = []
            options = MirrorOptions(
                verify=True, force=True, exclude=excluded, language="en", retry_wait=0.5
            )

            def on_log(level, text):
                _append_log(log, ["\t" + " ".join(text.split("\t"))])

            with open_endpoint(str(source)) as a, open_endpoint(str(dest)) as b:
                summary = run_mirror(a, b, options, log=on_log, cancel=stop.is_set)
            lines = ["", *summary.format_text(ENGLISH).splitlines()]
            code = summary.exit_code
        except Exception as exc:  # the task's process ends: robocopy's fatal code
            lines += [f"ERROR : {exc}"]
        finally:
            _append_log(log, lines)
            exit_file.write_text(str(code))
            with sim.state.lock:
                record["state"] = "Ready"
                record["exit_code"] = code
                sim.state.save()

    threading.Thread(target=copy_job, name=f"robocopy-{task}", daemon=True).start()
    return {"ExitFile": exit_text}


def _share_owner(sim, share_root: str) -> str | None:
    """The post whose administrative share `\\\\host\\C$` the task maps."""
    host = share_root.lstrip("\\").split("\\")[0]
    found = sim.state.post_by_host(host) if host else None
    return found[0] if found else None


@handles("robocopy.status")
def robocopy_status(sim, post, params, secrets):
    task = (sim.state.post(post).get("tasks") or {}).get(params["TaskName"])
    log, exit_file = sim.path(post, params["Log"]), sim.path(post, params["ExitFile"])
    data = log.read_bytes() if log.is_file() else b""
    offset = min(int(params.get("Offset") or 0), len(data))
    return {
        "State": task["state"] if task else "Missing",
        "ExitCode": int(exit_file.read_text()) if exit_file.is_file() else None,
        "Chunk": base64.b64encode(data[offset:]).decode("ascii"),
        "Size": len(data),
    }


@handles("robocopy.stop")
def robocopy_stop(sim, post, params, secrets):
    running = sim.tasks.get(params["TaskName"])
    if running:
        running["stop"].set()
    (sim.state.post(post).get("tasks") or {}).pop(params["TaskName"], None)


def reset_folder(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
