"""A robocopy /MIR-style mirror between local, SFTP and SMB trees. No Django imports.

from julieops.mirror import open_endpoint, run_mirror, MirrorOptions
with open_endpoint(src) as a, open_endpoint(dst) as b:
    summary = run_mirror(a, b, MirrorOptions(verify=True), log=..., cancel=...)
summary.exit_code, summary.as_json()
"""

# Loaded on first use: `python -m julieops.mirror` starts listing before it loads the engine.
_HOMES = {
    "Endpoint": "endpoints",
    "open_endpoint": "endpoints",
    "MirrorOptions": "engine",
    "Progress": "engine",
    "run_mirror": "engine",
    "GuardError": "guards",
    "check_destination": "guards",
    "Summary": "summary",
    "write_manifest": "verify",  # blake3 and hashlib: slow to load
}


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(name)
    import importlib

    value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value
    return value


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
