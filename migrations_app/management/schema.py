"""What a command that reads or writes the database checks first.

On the embedded default (SQLite under var/, nothing configured) a fresh clone has no schema
yet: the command creates it, as `make run` would, so every README command works as written.
Elsewhere (a production database) it never migrates on its own; a missing schema is said
in one line instead of a traceback."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.utils import DatabaseError


def ensure_schema() -> None:
    if getattr(settings, "EMBEDDED", False):
        call_command("migrate", interactive=False, verbosity=0)
        return
    try:
        tables = set(connection.introspection.table_names())
    except DatabaseError as exc:
        raise CommandError(f"Base de données injoignable : {exc}".splitlines()[0]) from None
    if "migrations_app_auditevent" not in tables:
        raise CommandError(
            "La base de données n'est pas initialisée : lancez « python manage.py migrate »."
        )
