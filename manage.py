#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["mirror"]:
        # The mirror needs no Django (the command only forwards its arguments): started here,
        # it skips the settings and the apps' loading (README: the mirror's ratio to rsync).
        from julieops.mirror.cli import main

        sys.exit(main(sys.argv[2:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "julieops.settings")
    from julieops import commandlist

    # The list of commands from the apps' folders, without setting Django up (commandlist).
    if commandlist.quick_help(sys.argv):
        sys.exit(0)
    commandlist.remember_apps(sys.argv)
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:  # a missing production secret: one line, no traceback
        sys.exit(f"manage.py : {exc}")
