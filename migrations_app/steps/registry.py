"""The step registry: catalogue key -> step class, filled by @register in the phase modules.

The phase modules (and the modules apps add with add_step_module) are imported the first time
the registry is read, not when Django starts: a management command that needs no step (`help`,
`mirror`, `migrate`) does not pay for the catalogue's imports (paramiko, the Windows scripts)."""

import threading
from dataclasses import dataclass, field
from importlib import import_module

from django.utils.translation import gettext_lazy as _

PHASES = {
    1: _("Inventory of the old server"),
    2: _("Prerequisites of the new server and the network"),
    3: _("Data transfer"),
    4: _("Installation"),
    5: _("After installation"),
}

# Modules whose import registers steps, loaded with the catalogue: the phase modules first, then
# what apps add (add_step_module) and the modules named in settings (the suite's probe steps).
_STEP_MODULES = ["migrations_app.steps.catalogue"]
_load_lock = threading.RLock()
_loaded = False


def add_step_module(name: str) -> None:
    """Have `name` imported with the catalogue (an app's own steps, from its ready())."""
    if _loaded:
        import_module(name)
    elif name not in _STEP_MODULES:
        _STEP_MODULES.append(name)


def load_catalogue() -> None:
    """Import every step module once (the registry calls this on its first read)."""
    global _loaded
    if _loaded:
        return
    with _load_lock:
        if _loaded:
            return
        _loaded = True  # reads made while the modules register see what is there so far
        try:
            from django.conf import settings

            for name in [*_STEP_MODULES, *getattr(settings, "JULIEOPS_EXTRA_STEP_MODULES", [])]:
                import_module(name)
        except BaseException:
            _loaded = False
            raise


class _Registry(dict):
    """key -> step class; any read first loads the catalogue (register() writes without it)."""

    def __getitem__(self, key):
        load_catalogue()
        return super().__getitem__(key)

    def __contains__(self, key):
        load_catalogue()
        return super().__contains__(key)

    def __iter__(self):
        load_catalogue()
        return super().__iter__()

    def __len__(self):
        load_catalogue()
        return super().__len__()

    def get(self, key, default=None):
        load_catalogue()
        return super().get(key, default)

    def keys(self):
        load_catalogue()
        return super().keys()

    def values(self):
        load_catalogue()
        return super().values()

    def items(self):
        load_catalogue()
        return super().items()


REGISTRY: dict[str, type["Step"]] = _Registry()

# The catalogue in the order of ../shared/procedure/STEPS.md: a step's place in its phase comes
# from here, whichever module (or app) registers it.
ORDER = (
    "source.locate",
    "source.server_register",
    "source.services_data",
    "source.pxdatas_snapshot",
    "source.associated_services",
    "source.extras",
    "target.hardware",
    "target.network",
    "target.share",
    "target.firewall",
    "target.antivirus",
    "target.admin_rights",
    "cutover.freeze",
    "data.mirror",
    "data.pxdatas",
    "data.server_register",
    "data.services",
    "data.teletransmission",
    "data.window_layout",
    "cutover.retire_old",
    "install.server",
    "install.verify",
    "install.clients",
    "post.readers",
    "post.cps",
    "post.teletransmission",
    "post.services",
    "post.clients_repoint",
    "post.signoff",
)


@dataclass
class Outcome:
    """What an automated step reports: a verdict, a French summary and a per-item table."""

    status: str  # "passed" | "warning" | "failed"
    summary: str
    items: list[dict] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    @classmethod
    def from_items(cls, items: list[dict], summary: str, data: dict | None = None) -> "Outcome":
        statuses = {item.get("status") for item in items}
        status = "failed" if "fail" in statuses else "warning" if "warn" in statuses else "passed"
        return cls(status, summary, items, data or {})


class StepError(Exception):
    """A step could not do its work; the message (French) is shown to the technician."""


class Step:
    key: str = ""
    phase: int = 0
    order: int = 0
    kind: str = "manual"
    title: str = ""
    instructions: str = ""
    criteria: str = ""
    depends_on: tuple[str, ...] = ()
    # Steps whose earlier success stops counting when this one succeeds (a new freeze: the
    # final mirror pass and what follows it must be done again); see status.restart_after.
    restarts: tuple[str, ...] = ()
    # False for probe steps that exist only for tests or diagnostics, outside the procedure.
    in_catalogue: bool = True
    # True when run(ctx) honours ctx.run.params["dry_run"]: shows what would change, changes
    # nothing, and leaves the step's status alone.
    supports_dry_run: bool = False

    @classmethod
    def is_automated(cls) -> bool:
        return cls.kind in ("auto", "check", "approval") and "run" in _own_methods(cls)

    @classmethod
    def needs_approval(cls) -> bool:
        return cls.kind == "approval"

    # Approval hooks, per job step. By default an approval-kind step needs one approval before
    # any run; a step may instead ask for one only for some decisions (data.pxdatas: a purge).
    @classmethod
    def needs_approval_for(cls, jobstep) -> bool:
        """True when `jobstep` may not run before a supervisor approved it."""
        return cls.needs_approval()

    @classmethod
    def approvable(cls, jobstep) -> bool:
        """True when there is something for a supervisor to approve now."""
        return cls.needs_approval() and not jobstep.is_approved

    @classmethod
    def approval_data(cls, jobstep) -> dict:
        """What the approval covers, kept in its audit event."""
        return {}

    @classmethod
    def approval_requester(cls, jobstep) -> str | None:
        """Username of the person who asked for what awaits approval (four eyes: they may not
        approve it themselves); None when nobody asked (a plain approval-kind step)."""
        return None

    def run(self, ctx) -> Outcome:  # pragma: no cover - overridden by automated steps
        raise NotImplementedError


def _own_methods(cls) -> set[str]:
    names = set()
    for klass in cls.__mro__:
        if klass is Step:
            break
        names.update(vars(klass))
    return names


def register(cls: type[Step]) -> type[Step]:
    if dict.__contains__(REGISTRY, cls.key):
        raise ValueError(f"step {cls.key} registered twice")
    # Catalogue steps take their place in ORDER; tools come after them in their phase.
    if cls.in_catalogue:
        if cls.key not in ORDER:
            raise ValueError(f"step {cls.key} is not in the catalogue's ORDER")
        cls.order = ORDER.index(cls.key) + 1
    else:
        same_phase = [o for o in dict.values(REGISTRY) if o.phase == cls.phase]
        cls.order = 100 + sum(1 for o in same_phase if not o.in_catalogue)
    dict.__setitem__(REGISTRY, cls.key, cls)
    return cls


def catalogue() -> list[type[Step]]:
    steps = [step for step in REGISTRY.values() if step.in_catalogue]
    return sorted(steps, key=lambda s: (s.phase, s.order))
