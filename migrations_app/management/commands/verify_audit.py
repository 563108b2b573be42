"""`manage.py verify_audit`: walk the audit hash chain; exit 1 at the first broken link."""

from django.core.management.base import BaseCommand, CommandError

from migrations_app.audit import verify_chain
from migrations_app.management.schema import ensure_schema


class Command(BaseCommand):
    help = "Vérifie la chaîne d'empreintes de l'historique d'audit."

    def handle(self, *args, **options):
        ensure_schema()
        checked, broken = verify_chain()
        if broken is not None:
            raise CommandError(
                f"Chaîne d'audit rompue à l'événement {broken.event_id} "
                f"({checked} événement(s) valides avant) : {broken.problem}"
            )
        self.stdout.write(f"Chaîne d'audit intacte : {checked} événement(s) vérifié(s).")
