"""`manage.py mirror SRC DST …`: forwards its arguments to julieops.mirror.cli."""

import sys

from django.core.management.base import BaseCommand

from julieops.mirror.cli import main


class Command(BaseCommand):
    help = "Mirror SRC onto DST like robocopy /MIR; see `python -m julieops.mirror --help`."

    def run_from_argv(self, argv):
        sys.exit(main(argv[2:]))

    def add_arguments(self, parser):
        parser.add_argument("argv", nargs="*")

    def handle(self, *args, **options):
        code = main(options["argv"])
        if code:
            sys.exit(code)
