"""`manage.py help` (bare, `help`, `--help`, `-h`, `help --commands`) without setting Django up.

Django's list of commands names the commands in each installed app's management/commands
folder, and to know the apps' folders it sets itself up: every model, the admin and its
checks, 0.3-0.4 s here to print a list of names. The folders depend only on INSTALLED_APPS and
on the AppConfig classes Django resolves from it. So the first help sets Django up as usual
and keeps, under var/cache/, each app's name and folder with the modification times of the
files that resolution read (each app's package and apps.py, each AppConfig class's module,
Django's management package).
A later help with the same INSTALLED_APPS and those files unchanged lists the command folders
itself, live, and prints what Django prints. Anything else goes Django's way, as before.
Loading no models, this help does not report a broken one: `manage.py check` does.

Imports nothing of Django's management, models or apps: only the settings module (for
INSTALLED_APPS and VAR_DIR) and, on a terminal, Django's termcolors for the app names' colour.
"""

import json
import os
import sys

INDEX_VERSION = 1
# The command lines Django answers with its list of commands (manage.py's own arguments).
_MODES = {
    (): "full",
    ("help",): "full",
    ("--help",): "full",
    ("-h",): "full",
    ("help", "--commands"): "names",
}


def quick_help(argv: list[str]) -> bool:
    """Print the help `argv` asks for from the index; False when Django must answer it."""
    mode = _MODES.get(tuple(argv[1:]))
    if mode is None or sys.platform == "win32":  # Windows consoles: Django's colour rules
        return False
    settings = _settings()
    if settings is None:
        return False
    index = read_index(settings)
    if index is None:
        return False
    commands = list_commands(index["core"], [tuple(app) for app in index["apps"]])
    sys.stdout.write(render(commands, prog_name(argv[0]), mode == "names") + "\n")
    return True


def remember_apps(argv: list[str]) -> None:
    """On the way to Django's own help, keep the index for the next one (Django set up)."""
    if _MODES.get(tuple(argv[1:])) is None:
        return
    settings = _settings()
    if settings is None or getattr(settings, "VAR_DIR", None) is None:
        return
    import django
    from django.apps import AppConfig, apps

    try:
        django.setup()
    except Exception:  # Django's help reports a broken set-up itself
        return
    watched = set()
    for entry, config in zip(settings.INSTALLED_APPS, apps.get_app_configs(), strict=True):
        watched.update(_package_files(entry))
        for cls in type(config).__mro__:
            if issubclass(cls, AppConfig) and cls is not AppConfig:
                watched.add(sys.modules[cls.__module__].__file__)
    core = os.path.join(os.path.dirname(django.__file__), "core", "management")
    watched.add(os.path.join(core, "__init__.py"))  # another Django: its help may differ
    index = {
        "version": INDEX_VERSION,
        "settings": settings.__name__,
        "installed_apps": list(settings.INSTALLED_APPS),
        "core": core,
        "apps": [(c.name, c.path) for c in apps.get_app_configs()],
        "files": {path: _mtime(path) for path in sorted(watched)},
    }
    _write(_index_path(settings), index)


def read_index(settings) -> dict | None:
    """The index if it still describes this installation, else None."""
    path = _index_path(settings)
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            index = json.load(f)
        fresh = (
            index.get("version") == INDEX_VERSION
            and index["settings"] == settings.__name__
            and index["installed_apps"] == list(settings.INSTALLED_APPS)
            and all(_mtime(p) == m for p, m in index["files"].items())
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return index if fresh else None


def list_commands(core: str, apps: list[tuple[str, str]]) -> dict[str, str]:
    """{command: app name}, as django.core.management.get_commands builds it: Django's own,
    then each app's, the first-listed app winning a name two apps define."""
    commands = dict.fromkeys(_find(core), "django.core")
    for name, path in reversed(apps):
        commands.update(dict.fromkeys(_find(os.path.join(path, "management")), name))
    return commands


def render(commands: dict[str, str], prog: str, names_only: bool = False) -> str:
    """Django's ManagementUtility.main_help_text for these commands."""
    if names_only:
        return "\n".join(sorted(commands))
    by_app: dict[str, list[str]] = {}
    for name, app in commands.items():
        label = "django" if app == "django.core" else app.rpartition(".")[-1]
        by_app.setdefault(label, []).append(name)
    notice = _notice_style()
    lines = ["", f"Type '{prog} help <subcommand>' for help on a specific subcommand."]
    lines += ["", "Available subcommands:"]
    for label in sorted(by_app):
        lines += ["", notice(f"[{label}]")]
        lines += [f"    {name}" for name in sorted(by_app[label])]
    return "\n".join(lines)


def prog_name(argv0: str) -> str:
    name = os.path.basename(argv0)
    return "python -m django" if name == "__main__.py" else name


def _find(management_dir: str) -> list[str]:
    import pkgutil

    folder = os.path.join(management_dir, "commands")
    return [
        name
        for _, name, is_pkg in pkgutil.iter_modules([folder])
        if not is_pkg and not name.startswith("_")
    ]


def _notice_style():
    """Django's NOTICE role (DJANGO_COLORS, default palette) where Django would colour."""
    if not (hasattr(sys.stdout, "isatty") and sys.stdout.isatty()):
        return str
    from django.utils import termcolors

    palette = termcolors.parse_color_setting(os.environ.get("DJANGO_COLORS", ""))
    if not palette:
        return str
    return termcolors.make_style(**palette.get("NOTICE", {}))


def _settings():
    import importlib

    name = os.environ.get("DJANGO_SETTINGS_MODULE")
    if not name:
        return None
    try:
        return importlib.import_module(name)
    except Exception:  # Django's help reports a broken settings module itself
        return None


def _package_files(module: str) -> list[str]:
    """The files Django reads to resolve an INSTALLED_APPS entry: the package's __init__ and
    apps.py (absent ones too: one appearing changes the resolution)."""
    spec = _spec(module) or _spec(module.rpartition(".")[0])  # a package, or a class's module
    if spec is None:
        return []
    if not spec.submodule_search_locations:
        return [spec.origin] if spec.origin else []
    folder = list(spec.submodule_search_locations)[0]
    return [os.path.join(folder, "__init__.py"), os.path.join(folder, "apps.py")]


def _spec(name: str):
    import importlib.util

    try:
        return importlib.util.find_spec(name) if name else None
    except (ImportError, ValueError):
        return None


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _index_path(settings) -> str | None:
    var = getattr(settings, "VAR_DIR", None)
    return None if var is None else os.path.join(os.fspath(var), "cache", "commands.json")


def _write(path: str | None, index: dict) -> None:
    if path is None:
        return
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(index, f)
        os.replace(tmp, path)  # whole or not at all: another help may be reading it
    except OSError:  # a read-only var/: every help goes Django's way
        pass
