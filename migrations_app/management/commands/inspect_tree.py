"""`manage.py inspect_tree ROOT [--host NAME=ROOT]... [--backup ROOT] [--name NAME] [--json]`:
a thin wrapper around julieops.julietree.cli, whose exit code it keeps (0 ok, 1 problems)."""

import sys

from django.core.management.base import BaseCommand

from julieops.julietree.cli import main


class Command(BaseCommand):
    help = "Inspecte une arborescence Julie (voir --help)."

    def run_from_argv(self, argv):
        # argv = [manage.py, inspect_tree, ...]: the CLI parses its own options.
        sys.exit(main(argv[2:], stdout=sys.stdout))

    def add_arguments(self, parser):
        parser.add_argument("argv", nargs="*", help="arguments du CLI inspect_tree")

    def handle(self, *args, **options):
        # call_command("inspect_tree", argv=[...]): same exit code, raised as SystemExit.
        code = main(list(options["argv"]), stdout=self.stdout)
        if code:
            raise SystemExit(code)
