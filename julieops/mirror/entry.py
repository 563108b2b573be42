"""What a listing yields for one name: enough to compare without another round trip."""

from typing import NamedTuple

from .treewalk import DIR, FILE, LINK

__all__ = ["DIR", "FILE", "LINK", "Entry", "ListingError", "join"]


class Entry(NamedTuple):  # a tuple: cheap to build, one per name listed
    name: str
    kind: str  # FILE, DIR or LINK (a symlink, junction or reparse point: never followed)
    size: int = 0
    mtime_ns: int = 0
    readonly: bool = False
    mode: int = 0  # POSIX permission bits when the endpoint knows them, else 0


def join(parent: str, name: str) -> str:
    """Relative paths are POSIX-style strings; "" is the tree root."""
    return f"{parent}/{name}" if parent else name


class ListingError(OSError):
    """A directory of the tree could not be listed."""
