"""Refuse destinations where a mirror (which deletes extras) would do harm.

The guard keeps no memory in the destination (no marker file: a migrated tree must hold its
source's files and nothing else). A caller that remembers mirroring this source to this
destination before (the dashboard: its earlier runs in the database) says so with `force`."""

from .endpoints import Endpoint, is_temp_name
from .entry import DIR

JULIE_MARKER_DIR = "datas"


class GuardError(Exception):
    """The destination is refused; the message is meant for the technician (French)."""


def overlaps(a: Endpoint, b: Endpoint) -> bool:
    """Same tree, or one inside the other (only decidable on the same server)."""
    scheme_a, server_a, parts_a = a.location()
    scheme_b, server_b, parts_b = b.location()
    if (scheme_a, server_a) != (scheme_b, server_b):
        return False
    n = min(len(parts_a), len(parts_b))
    return parts_a[:n] == parts_b[:n]


def check_destination(source: Endpoint, dest: Endpoint, *, force: bool = False) -> None:
    if dest.is_root():
        raise GuardError(f"destination refusée: {dest} est la racine d'un disque ou d'un volume")
    if overlaps(source, dest):
        raise GuardError(
            f"destination refusée: {dest} et la source {source} se recouvrent "
            "(identiques ou l'une dans l'autre)"
        )
    if force or not dest.exists():
        return
    entries = [e for e in dest.list_dir("") if not is_temp_name(e.name)]
    if not entries:
        return
    for e in entries:
        if e.kind == DIR and e.name.lower() == JULIE_MARKER_DIR:
            return
    raise GuardError(
        f"destination refusée: {dest} n'est pas vide et ne ressemble pas à une arborescence Julie "
        "(dossier Datas); utilisez --force si c'est voulu (par exemple un miroir précédent)"
    )
