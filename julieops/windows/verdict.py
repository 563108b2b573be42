"""Per-item tables (ok / warn / fail) with a French summary: what every check step reports."""

from __future__ import annotations

STATUSES = ("ok", "warn", "fail")
WORDS = {"ok": "ok", "warn": "à surveiller", "fail": "en échec"}


def item(label: str, status: str, detail: str = "") -> dict:
    if status not in STATUSES:
        raise ValueError(status)
    return {"label": label, "status": status, "detail": detail}


def worst(statuses) -> str:
    statuses = list(statuses)
    for status in ("fail", "warn"):
        if status in statuses:
            return status
    return "ok"


def verdict(title: str, items: list[dict]) -> dict:
    """{"status", "items", "summary"}: the step's overall status is its worst item."""
    status = worst(i["status"] for i in items)
    counts = {s: sum(1 for i in items if i["status"] == s) for s in STATUSES}
    summary = f"{title} : " + ", ".join(f"{counts[s]} {WORDS[s]}" for s in STATUSES if counts[s])
    failed = [i["label"] for i in items if i["status"] == "fail"]
    if failed:
        summary += " — échec : " + " ; ".join(failed)
    elif not items:
        summary += "rien à vérifier"
    return {"status": status, "items": items, "summary": summary + "."}


def as_list(value) -> list:
    """ConvertTo-Json turns a one-element array into the element itself, and $null into None."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
