"""`manage.py verify_audit` finds the first broken link after raw SQL tampering."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from migrations_app import audit
from migrations_app.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(bob):
    return [
        audit.record(f"fse.test.{n}", category="fse", actor=bob, reason=f"motif n°{n} — été")
        for n in range(4)
    ]


def verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def broken_at() -> str:
    with pytest.raises(CommandError) as exc:
        verify()
    return str(exc.value)


def test_it_reports_an_intact_chain(chain):
    assert f"{AuditEvent.objects.count()} événement(s)" in verify()


def test_it_catches_a_modified_row(chain):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE migrations_app_auditevent SET reason = %s WHERE id = %s",
            ["motif changé", chain[1].pk],
        )
    message = broken_at()
    assert f"événement {chain[1].pk} " in message and "row changed" in message


def test_it_catches_a_deleted_row(chain):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM migrations_app_auditevent WHERE id = %s", [chain[2].pk])
    message = broken_at()
    assert f"événement {chain[3].pk} " in message and "deleted or inserted" in message


def test_it_catches_an_inserted_row_even_with_a_well_formed_hash(chain, bob):
    # A gap in the id sequence (a rolled-back transaction) leaves room for a forged row.
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('migrations_app_auditevent', 'id'))")
        gap = cursor.fetchone()[0]
    last = audit.record("fse.test.after", category="fse", actor=bob)
    forged = AuditEvent(
        id=gap, created_at=chain[-1].created_at, actor=bob, actor_name="bob",
        action="fse.purge", category="fse", reason="purge antidatée", data={},
        prev_hash=chain[-1].hash,
    )  # fmt: skip
    forged.hash = audit.compute_hash(forged)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO migrations_app_auditevent (id, created_at, actor_id, actor_name, action, "
            "category, target, reason, data, prev_hash, hash) "
            "VALUES (%s, %s, %s, %s, %s, %s, '', %s, '{}', %s, %s)",
            [gap, forged.created_at, bob.pk, "bob", forged.action, "fse", forged.reason,
             forged.prev_hash, forged.hash],
        )  # fmt: skip
    assert gap < last.pk
    message = broken_at()
    assert f"événement {last.pk} " in message and "deleted or inserted" in message
