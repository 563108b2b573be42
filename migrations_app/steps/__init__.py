"""Step catalogue: one module per phase, each step registered by key (see registry.py)."""

from importlib import import_module

from django.conf import settings

from migrations_app.steps import (  # noqa: F401
    cutover,  # noqa: F401, I001  (after the catalogue: tools come last in a phase)
    installation,
    inventory,
    post_install,
    prerequisites,
    transfer,
)

# Extra step modules named in settings (the test suite registers its probe steps this way).
for _module in getattr(settings, "JULIEOPS_EXTRA_STEP_MODULES", []):
    import_module(_module)
