"""Append-only, hash-chained audit history.

Each event's hash covers its own content and its predecessor's hash, so changing, deleting
or inserting a row breaks the chain at that point (`verify_chain`, `manage.py verify_audit`).
Appends are serialized (a PostgreSQL advisory lock; SQLite writes are serialized already).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC

from django.db import connection, transaction
from django.utils import timezone

from migrations_app.models import AuditEvent

GENESIS = "0" * 64
_LOCK_ID = 0x4A554C4945  # "JULIE"

# Keys whose values never enter the audit history, whatever a caller passes.
SECRET_KEYS = {"password", "secret", "token", "pkey", "private_key", "secret_encrypted"}


def _canonical(event: AuditEvent) -> bytes:
    payload = {
        "created_at": event.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "category": event.category,
        "target": event.target,
        "job_id": event.job_id,
        "reason": event.reason,
        "data": event.data,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def _scrub(value):
    if isinstance(value, dict):
        return {k: ("***" if k.lower() in SECRET_KEYS else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def record(
    action: str,
    *,
    category: str,
    actor=None,
    actor_name: str | None = None,
    job=None,
    target: str = "",
    reason: str = "",
    data: dict | None = None,
) -> AuditEvent:
    """Append one event. `actor` is a user (None for the system: name it with actor_name)."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    name = actor_name or (actor.get_username() if actor else "système")
    # Normalize through JSON so the stored value hashes the same when read back.
    clean = json.loads(json.dumps(_scrub(data or {}), default=str))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_ID])
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        event = AuditEvent(
            created_at=timezone.now(),
            actor=actor,
            actor_name=name,
            action=action,
            category=category,
            target=str(target)[:255],
            job=job,
            reason=reason,
            data=clean,
            prev_hash=last or GENESIS,
        )
        event.hash = compute_hash(event)
        event.save()
    return event


@dataclass
class ChainBreak:
    event_id: int
    problem: str

    def __str__(self):
        return f"event {self.event_id}: {self.problem}"


def verify_chain(batch_size: int = 2000) -> tuple[int, ChainBreak | None]:
    """Walk the chain in id order; return (events checked, first break or None)."""
    expected_prev = GENESIS
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        if event.prev_hash != expected_prev:
            return checked, ChainBreak(
                event.id, "previous hash does not match: a row was deleted or inserted before it"
            )
        if compute_hash(event) != event.hash:
            return checked, ChainBreak(event.id, "content does not match its hash: row changed")
        expected_prev = event.hash
        checked += 1
    return checked, None
