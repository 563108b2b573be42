"""A robocopy /MIR-style mirror between local, SFTP and SMB trees. No Django imports.

from julieops.mirror import open_endpoint, run_mirror, MirrorOptions
with open_endpoint(src) as a, open_endpoint(dst) as b:
    summary = run_mirror(a, b, MirrorOptions(verify=True), log=..., cancel=...)
summary.exit_code, summary.as_json()
"""

from .endpoints import Endpoint, open_endpoint
from .engine import MirrorOptions, Progress, run_mirror
from .guards import GuardError, check_destination
from .summary import Summary


def __getattr__(name: str):
    if name == "write_manifest":  # imported on demand: blake3 and hashlib are slow to load
        from .verify import write_manifest

        return write_manifest
    raise AttributeError(name)


__all__ = [
    "Endpoint",
    "GuardError",
    "MirrorOptions",
    "Progress",
    "Summary",
    "check_destination",
    "open_endpoint",
    "run_mirror",
    "write_manifest",
]
