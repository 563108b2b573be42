"""The post agent of a simulated post: the report `python -m readers report` would send from
the practice user's session (card readers, network drives, per-user flags), built from the
post's simulated state instead of PC/SC and the registry, and posted to the dashboard with the
agent's own code (`readers.agent.report`) and a token issued on the machine's page."""

from __future__ import annotations

from readers.agent.atr import classify_atr
from readers.agent.report import build_report, post_report
from training.state import PathOutside, State

VITALE_ATR = "3B 75 13 00 00 45 09 EA 90 00"
CPS_ATR = "3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00"


def _drive(state: State, letter: str, remote: str) -> dict:
    """What `dir J:\\` shows in the user's session: Datas directly, or one folder down."""
    try:
        root = state.local_path("", remote.rstrip("\\") + "\\")
    except (PathOutside, KeyError):
        root = None
    datas = []
    if root is not None and root.is_dir():
        for child in sorted(root.iterdir()):
            if child.name.casefold() == "datas":
                datas.append(f"{letter}\\{child.name}")
            elif child.is_dir():
                datas += [
                    f"{letter}\\{child.name}\\{inner.name}"
                    for inner in sorted(child.iterdir())
                    if inner.name.casefold() == "datas"
                ]
    return {"letter": letter, "remote": remote, "reachable": root is not None, "datas": datas}


def report(state: State, post: str) -> dict:
    p = state.post(post)
    readers = []
    for name, atr in (p.get("readers") or {}).get("pcsc", []):
        info = classify_atr(atr, smartcard_list=False)  # as the agent does after its scan
        readers.append(
            {"name": name, "state": ["present"], "atr": info.atr, "card": info.card,
             "label": info.label, "descriptions": []}
        )  # fmt: skip
    pcsc = {
        "status": "ok" if readers else "no_reader",
        "message": "" if readers else "aucun lecteur PC/SC branché",
        "readers": readers,
    }
    session = p.get("session") or {}
    user_session = {
        "user": session.get("user", "secretariat"),
        "drive_mappings": [
            _drive(state, d["letter"], d["remote"]) for d in session.get("drives", [])
        ],
        "enable_linked_connections": session.get("enable_linked_connections", True),
        "compat_layers": [
            {"hive": hive, "program": program, "flags": flags}
            for hive in ("HKCU", "HKLM")
            for program, flags in sorted(p["compat_layers"].get(hive, {}).items())
        ],
    }
    data = build_report(pcsc, None, None, [], False, user_session)
    data["host"] = {"hostname": p["hostname"], "platform": "Windows-10-10.0.19045-SP0 (simulé)"}
    return data


def map_drive(state: State, post: str, letter: str, remote: str) -> None:
    """`net use J: \\\\SERVER\\partage /persistent:yes` typed in the user's session."""
    with state.lock:
        session = state.post(post).setdefault("session", {"user": "secretariat", "drives": []})
        drives = [d for d in session["drives"] if d["letter"].upper() != letter.upper()]
        session["drives"] = [*drives, {"letter": letter.upper(), "remote": remote}]
        state.save()


def send(state: State, post: str, url: str, token: str) -> dict:
    return post_report(url, token, report(state, post))
