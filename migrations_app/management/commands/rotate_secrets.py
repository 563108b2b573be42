"""`manage.py rotate_secrets`: re-encrypt every stored credential with the first key of
JULIEOPS_FERNET_KEYS, so an old key can then be removed from the list."""

from django.core.management.base import BaseCommand
from django.db import transaction

from migrations_app import audit, crypto
from migrations_app.choices import AuditCategory
from migrations_app.management.schema import ensure_schema
from migrations_app.models import Credential


class Command(BaseCommand):
    help = "Rechiffre chaque identifiant avec la première clé de JULIEOPS_FERNET_KEYS."

    def handle(self, *args, **options):
        ensure_schema()
        rotated = 0
        with transaction.atomic():
            for credential in Credential.objects.select_for_update().exclude(secret_encrypted=""):
                token = crypto.rotate(credential.secret_encrypted)
                if token != credential.secret_encrypted:
                    Credential.objects.filter(pk=credential.pk).update(secret_encrypted=token)
                    rotated += 1
            audit.record(
                "credential.rotate",
                category=AuditCategory.SECURITY,
                actor_name="manage.py rotate_secrets",
                data={"credentials": rotated},
            )
        self.stdout.write(f"{rotated} identifiant(s) rechiffré(s) avec la première clé.")
