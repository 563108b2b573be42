"""Create the embedded demo: a practice whose old and new servers are local folders."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from julieops.julietree.generate import build_demo_practice
from migrations_app import actions
from migrations_app.choices import MachineRole, Transport
from migrations_app.management.schema import ensure_schema
from migrations_app.models import Cabinet, Customer, Machine, MigrationJob, Site
from migrations_app.roles import AUDITOR, SUPERVISOR, TECHNICIAN

DEMO_USERS = [
    ("demo", "demo-julie-2026", SUPERVISOR),
    ("technicien", "demo-julie-2026", TECHNICIAN),
    ("auditeur", "demo-julie-2026", AUDITOR),
]


class Command(BaseCommand):
    help = "Create the demo practice (folders under var/demo/) and demo users; idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="rebuild the demo folders")

    def handle(self, *args, reset=False, **options):
        ensure_schema()
        root = settings.VAR_DIR / "demo"
        exists = (root / "ancien-serveur" / "C").exists()
        if reset or not exists:
            paths = build_demo_practice(root, replace_existing=True)
        else:
            paths = {
                n: root / n / "C" for n in ("ancien-serveur", "nouveau-serveur", "poste-accueil")
            }
        with transaction.atomic():
            users = self._users()
            job = self._practice(paths, users["demo"])
        self.stdout.write(self.style.SUCCESS(f"Demo practice ready: job #{job.pk} «{job}»."))
        for username, password, role in DEMO_USERS:
            self.stdout.write(f"  login: {username:<11} password: {password}  ({role})")

    def _users(self):
        User = get_user_model()
        users = {}
        for username, password, role in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.save()
            user.groups.add(Group.objects.get(name=role))
            users[username] = user
        return users

    def _practice(self, paths, user):
        customer, _ = Customer.objects.get_or_create(
            name="Cabinet dentaire des Tilleuls",
            defaults={"licence_number": "J-2024-0417", "contact_name": "Dr Élodie Martin"},
        )
        for name, ps in (("Dr Élodie Martin", "10101234567"), ("Dr Hugo Lefèvre", "")):
            Cabinet.objects.get_or_create(customer=customer, name=name, defaults={"ps_number": ps})
        site, _ = Site.objects.get_or_create(
            customer=customer, name="Melun — centre", defaults={"workgroup": "CABINET"}
        )
        machines = {}
        for hostname, key, roles in (
            (
                "ANCIEN-SERVEUR",
                "ancien-serveur",
                [MachineRole.DATA_SERVER, MachineRole.KEY_HOST, MachineRole.SERVICES_HOST],
            ),
            ("NOUVEAU-SERVEUR", "nouveau-serveur", [MachineRole.DATA_SERVER]),
            ("POSTE-ACCUEIL", "poste-accueil", [MachineRole.CLIENT]),
        ):
            machines[key], _ = Machine.objects.update_or_create(
                site=site,
                hostname=hostname,
                defaults={
                    "transport": Transport.LOCAL,
                    "root_path": str(paths[key]),
                    "roles": [str(r) for r in roles],
                },
            )
        job = MigrationJob.objects.filter(site=site).first()
        if job is None:
            job = actions.create_job(
                user,
                customer=customer,
                site=site,
                source=machines["ancien-serveur"],
                target=machines["nouveau-serveur"],
                clients=[machines["poste-accueil"]],
                title="Migration vers le nouveau serveur (démo)",
                assignee=user,
            )
        return job
