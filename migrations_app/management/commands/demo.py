"""Create the embedded demo: a practice whose old and new servers are local folders, and the
training practice (« cabinet d'entraînement »), whose five posts are simulated Windows machines
answering WinRM on loopback (`python -m training serve`, started by scripts/run-embedded.sh).

The training posts' certificate fingerprints are recorded as confirmed by the setup itself, with
an audit entry saying so: the simulator made those certificates a moment ago on this very
machine, so there is nothing for a superviseur to compare them with; the confirmation exercise
stays on real posts (« Tester la connexion »). The flag `simulated` is set here and nowhere else."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from julieops.julietree.generate import build_demo_practice
from julieops.remote.hostkeys import certificate_fingerprint
from migrations_app import actions, audit
from migrations_app.choices import AuditCategory, MachineRole, Transport
from migrations_app.management.schema import ensure_schema
from migrations_app.models import Cabinet, Credential, Customer, Machine, MigrationJob, Site
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
        parser.add_argument("--no-training", action="store_true", help="skip the training practice")

    def handle(self, *args, reset=False, no_training=False, **options):
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
        if not no_training:
            training = training_practice(
                settings.VAR_DIR / "training",
                users["demo"],
                users["technicien"],
                reset=reset,
                port=TRAINING_PORT,
            )
            self.stdout.write(
                self.style.SUCCESS(f"Training practice ready: job #{training.pk} «{training}».")
            )
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


TRAINING_ROLES = {
    "ancien-serveur": [MachineRole.DATA_SERVER],
    "nouveau-serveur": [MachineRole.DATA_SERVER, MachineRole.KEY_HOST],
    "poste-sms": [MachineRole.SERVICES_HOST, MachineRole.SMS_HOST],
    "poste-accueil": [MachineRole.CLIENT],
    "poste-soins": [MachineRole.CLIENT],
}
TRAINING_PORT = 5986  # WinRM's HTTPS port, on each post's own loopback address
TRAINING_TITLE = "Cabinet d'entraînement — répétition de la migration"


def training_practice(
    folder, supervisor, technician, *, reset: bool = False, port: int = 0
) -> MigrationJob:
    """The training practice's simulated posts (made under `folder` when missing, or again with
    `reset`) and its customer, site, machines, credentials and job; idempotent."""
    from training.setup import prepare
    from training.state import State

    if reset or not State.exists(folder):
        state = prepare(folder, replace=True, port=port)
        # Posts made again have new certificates and accounts: a new job with them.
        MigrationJob.objects.filter(title=TRAINING_TITLE, source__simulated=True).update(
            title=TRAINING_TITLE + " (ancienne)"
        )
    else:
        state = State.load(folder)
    customer, _ = Customer.objects.get_or_create(
        name="Cabinet d'entraînement",
        defaults={"licence_number": "J-ENTR-0001", "contact_name": "Dr Camille Exemple"},
    )
    # Each cabinet's CPS reader (its desk's second PC/SC reader, as the post agent names it).
    for name, reader in (
        ("Dr Camille Exemple", "Gemalto USB Smart Card Reader 1"),
        ("Dr Jules Essai", "Gemalto USB Smart Card Reader 1"),
    ):
        Cabinet.objects.get_or_create(customer=customer, name=name, defaults={"cps_reader": reader})
    site, _ = Site.objects.get_or_create(
        customer=customer, name="Salle de formation", defaults={"workgroup": "CABINET"}
    )
    machines = {}
    for key, post in state.posts.items():
        fingerprint = certificate_fingerprint(bytes.fromhex(post["certificate_der"]))
        machine = Machine.objects.filter(site=site, hostname=post["hostname"]).first()
        if machine is None or machine.host_key_fingerprint != fingerprint:
            credential = Credential(name=f"simulé {post['hostname']}", username=post["username"])
            credential.secret = post["password"]
            credential.save()
            machine = machine or Machine(site=site, hostname=post["hostname"])
            machine.transport, machine.address, machine.port = (
                Transport.WINRM,
                post["address"],
                post["port"],
            )
            machine.root_path = str(state.folder / post["drives"]["C:"])
            machine.roles = [str(r) for r in TRAINING_ROLES[key]]
            machine.credential, machine.simulated = credential, True
            machine.host_key_fingerprint, machine.confirmed_for = fingerprint, ""
            machine.save()
            audit.record(
                "machine.host_key_confirm",
                category=AuditCategory.SECURITY,
                actor=supervisor,
                target=str(machine),
                reason="cabinet d'entraînement : empreinte du certificat du simulateur "
                "enregistrée par la mise en place (manage.py demo), pas par un superviseur",
                data={"machine": machine.pk, "fingerprint": fingerprint, "simulated": True},
            )
        machines[key] = machine
    job = MigrationJob.objects.filter(site=site, title=TRAINING_TITLE).first()
    if job is None:
        job = actions.create_job(
            supervisor,
            customer=customer,
            site=site,
            source=machines["ancien-serveur"],
            target=machines["nouveau-serveur"],
            clients=[machines["poste-accueil"], machines["poste-soins"]],
            title=TRAINING_TITLE,
            assignee=technician,
        )
        job.extra_hosts.set([machines["poste-sms"]])
    return job
