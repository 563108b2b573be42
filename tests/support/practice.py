"""A small practice on generated Julie trees, for tests that need real files."""

from dataclasses import dataclass
from pathlib import Path

from julieops.julietree.generate import build_demo_practice
from migrations_app.choices import MachineRole, Transport
from migrations_app.models import Customer, Machine, Site


@dataclass
class Practice:
    customer: Customer
    site: Site
    source: Machine
    target: Machine
    client: Machine
    paths: dict


def make_practice(root: Path, *, queue: str = "") -> Practice:
    paths = build_demo_practice(root / "demo", patients=3, image_bytes=2000)
    customer = Customer.objects.create(name="Cabinet dentaire des Écoles")
    site = Site.objects.create(customer=customer, name="Évry", worker_queue=queue)

    def machine(hostname, key, roles):
        return Machine.objects.create(
            site=site,
            hostname=hostname,
            transport=Transport.LOCAL,
            root_path=str(paths[key]),
            roles=roles,
        )

    return Practice(
        customer,
        site,
        machine("ANCIEN-SERVEUR", "ancien-serveur", [MachineRole.DATA_SERVER]),
        machine("NOUVEAU-SERVEUR", "nouveau-serveur", [MachineRole.DATA_SERVER]),
        machine("POSTE-ACCUEIL", "poste-accueil", [MachineRole.CLIENT]),
        paths,
    )
