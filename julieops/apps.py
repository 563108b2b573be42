"""The admin site without discovery at start-up.

Django's AdminConfig imports every app's admin.py in ready(), and with them the dashboard's
forms, the machine openers and the Julie tree readers: a cost every command paid, `manage.py
help` included. Here the admin modules load when they are needed: with the URLconf (serving,
the test client, `check`'s URL checks) and before the admin's own system checks."""

from django.contrib.admin.apps import SimpleAdminConfig
from django.contrib.admin.checks import check_admin_app, check_dependencies
from django.core import checks


class AdminConfig(SimpleAdminConfig):
    def ready(self):
        checks.register(check_dependencies, checks.Tags.admin)
        checks.register(_discover_then_check, checks.Tags.admin)


def _discover_then_check(app_configs, **kwargs):
    from django.contrib import admin

    admin.autodiscover()
    return check_admin_app(app_configs, **kwargs)
