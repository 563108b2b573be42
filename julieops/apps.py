"""The admin site without discovery at start-up.

Django's AdminConfig imports every app's admin.py in ready(), and with them the dashboard's
forms, the machine openers and the Julie tree readers: a cost every command paid, `manage.py
help` included. Here the admin modules load when they are needed: with the URLconf (serving,
the test client, `check`'s URL checks) and before the admin's own system checks, through
discover_admin."""

import threading

from django.contrib.admin.apps import SimpleAdminConfig
from django.contrib.admin.checks import check_admin_app, check_dependencies
from django.core import checks

_discovering = threading.Lock()


class AdminConfig(SimpleAdminConfig):
    def ready(self):
        checks.register(check_dependencies, checks.Tags.admin)
        checks.register(_discover_then_check, checks.Tags.admin)


def discover_admin() -> None:
    """The apps' admin modules, imported by one thread at a time. runserver's reloader imports
    the URLconf while its other thread runs the system checks: two discoveries at once could
    hand one of them django.contrib.auth.admin half run (importlib's deadlock escape), and
    migrations_app.admin then failed to unregister a User not registered yet. Seen once in
    five `make run` from a fresh clone. The admin modules never import the URLconf, so the
    URLconf's thread waiting here cannot block the one discovering."""
    from django.contrib import admin

    with _discovering:
        admin.autodiscover()  # again by the second thread: every module is imported, a no-op


def _discover_then_check(app_configs, **kwargs):
    discover_admin()
    return check_admin_app(app_configs, **kwargs)
