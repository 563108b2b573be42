"""Every phase module of the catalogue: importing this module registers their steps (the
registry imports it on its first read; each step takes its place from the catalogue's ORDER)."""

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
