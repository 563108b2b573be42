"""Timestamps in reports: ISO 8601, UTC, whole seconds (robocopy compares at 2 s anyway)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
