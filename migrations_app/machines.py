"""Opening a job's machines for the steps: a read-only tree of its C: drive, a transport."""

from julieops.julietree.reader import LocalTree

from .choices import Transport
from .models import Machine
from .steps.registry import StepError


def tree_for(machine: Machine):
    """A read-only TreeReader over the machine's C: drive."""
    if machine.transport == Transport.LOCAL:
        try:
            return LocalTree(machine.root_path)
        except (NotADirectoryError, FileNotFoundError) as exc:
            raise StepError(
                f"Le dossier qui représente le C: de {machine.hostname} est introuvable : "
                f"{machine.root_path}"
            ) from exc
    raise StepError(
        f"{machine.hostname} : la lecture des fichiers par {machine.get_transport_display()} "
        "n'est pas encore disponible pour cette étape ; faites-la à la main et cochez-la."
    )
