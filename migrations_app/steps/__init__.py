"""The step catalogue: the registry, shared helpers, one module per phase or big step. Importing
this package registers every step; each takes its place from the catalogue's ORDER."""

from importlib import import_module

from django.conf import settings

from migrations_app.steps import (  # noqa: F401
    cutover,
    installation,
    inventory,
    mirror,
    post_install,
    prerequisites,
    pxdatas,
    services,
    transfer,
)

# Extra step modules named in settings (the test suite registers its probe steps this way).
for _module in getattr(settings, "JULIEOPS_EXTRA_STEP_MODULES", []):
    import_module(_module)
