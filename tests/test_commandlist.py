"""`manage.py help` from the apps' command folders (julieops.commandlist): the text Django
prints, without Django's management, models or apps loaded, and Django's own path again as
soon as what the index remembers has changed."""

import io
import os
import sys
import types

from django.apps import apps
from django.conf import settings as django_settings
from django.core.management import ManagementUtility, get_commands

from julieops import commandlist
from tests.support.manage_py import manage_py


def test_the_second_help_prints_djangos_text_without_setting_django_up(tmp_path):
    first, loaded_first = manage_py(tmp_path, "help")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "django.core.management" in loaded_first  # the first one is Django's
    assert (tmp_path / "var" / "cache" / "commands.json").is_file()
    for args in (["help"], [], ["--help"], ["-h"]):
        again, loaded = manage_py(tmp_path, *args)
        assert again.returncode == 0, again.stderr[-2000:]
        assert again.stdout == first.stdout, args
        assert not {"django.core.management", "django.apps.registry", "django.db"} & loaded
    names, loaded = manage_py(tmp_path, "help", "--commands")
    assert names.stdout.split() == sorted(get_commands())
    assert "django.core.management" not in loaded


def test_a_changed_app_file_sends_the_help_back_to_django(tmp_path):
    manage_py(tmp_path, "help")
    index_file = tmp_path / "var" / "cache" / "commands.json"
    settings = types.SimpleNamespace(
        __name__="julieops.settings",
        INSTALLED_APPS=list(django_settings.INSTALLED_APPS),
        VAR_DIR=tmp_path / "var",
    )
    index = commandlist.read_index(settings)
    assert index is not None
    watched = next(p for p in index["files"] if p.endswith(os.path.join("readers", "apps.py")))
    st = os.stat(watched)
    try:
        os.utime(watched, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
        assert commandlist.read_index(settings) is None
    finally:
        os.utime(watched, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert commandlist.read_index(settings) is not None
    settings.INSTALLED_APPS = settings.INSTALLED_APPS[:-1]  # another list of apps
    assert commandlist.read_index(settings) is None
    index_file.write_text("{not json")
    settings.INSTALLED_APPS = list(django_settings.INSTALLED_APPS)
    assert commandlist.read_index(settings) is None


def test_commands_are_listed_live_from_the_folders(tmp_path):
    core = tmp_path / "core"
    (core / "commands").mkdir(parents=True)
    (core / "commands" / "migrate.py").write_text("")
    app = tmp_path / "app"
    (app / "management" / "commands").mkdir(parents=True)
    other = tmp_path / "other"
    (other / "management" / "commands").mkdir(parents=True)
    (other / "management" / "commands" / "migrate.py").write_text("")
    apps_ = [("pkg.app", str(app)), ("other", str(other))]
    assert commandlist.list_commands(str(core), apps_) == {"migrate": "other"}
    (app / "management" / "commands" / "migrate.py").write_text("")  # the first app wins
    (app / "management" / "commands" / "_private.py").write_text("")
    (app / "management" / "commands" / "purge.py").write_text("")
    assert commandlist.list_commands(str(core), apps_) == {"migrate": "pkg.app", "purge": "pkg.app"}


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_text_is_djangos_plain_and_in_colour(monkeypatch):
    core = os.path.join(os.path.dirname(sys.modules["django"].__file__), "core", "management")
    installed = [(c.name, c.path) for c in apps.get_app_configs()]
    commands = commandlist.list_commands(core, installed)
    assert commands == get_commands()
    django_help = ManagementUtility(["manage.py", "help"])
    django_help.settings_exception = None
    assert commandlist.render(commands, "manage.py") == django_help.main_help_text()
    monkeypatch.setattr(sys, "stdout", Terminal())
    monkeypatch.delenv("DJANGO_COLORS", raising=False)
    coloured = commandlist.render(commands, "manage.py")
    assert "\x1b[" in coloured and coloured == django_help.main_help_text()
    monkeypatch.setenv("DJANGO_COLORS", "nocolor")
    assert commandlist.render(commands, "manage.py") == django_help.main_help_text()
    assert commandlist.render(commands, "x", names_only=True) == "\n".join(sorted(commands))
