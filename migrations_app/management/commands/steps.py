import json

from django.core.management.base import BaseCommand

from migrations_app.steps.registry import PHASES, catalogue


class Command(BaseCommand):
    help = "Print the step catalogue (the vendor procedure as steps)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="a JSON list")

    def handle(self, *args, **options):
        steps = catalogue()
        if options["json"]:
            rows = [
                {"key": s.key, "phase": s.phase, "kind": s.kind, "title": s.title} for s in steps
            ]
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        phase = None
        for step in steps:
            if step.phase != phase:
                phase = step.phase
                self.stdout.write(f"\n{phase}. {PHASES[phase]}")
            automated = "" if step.is_automated() else "  (pas encore automatisé)"
            self.stdout.write(f"  {step.key:<28} {step.kind:<9} {step.title}{automated}")
