"""Replay a field-capture bundle through the verdicts and print what changed.

For a developer handed a bundle from the field: each captured step run is run again against
its captured outputs (nothing is contacted) and its verdict compared with the recorded one.
It writes a rehearsal job (« Rejeu … ») into the configured database: use a development one."""

from django.core.management.base import BaseCommand, CommandError

from migrations_app import capture_bundle


class Command(BaseCommand):
    help = "Rejoue une capture de terrain (zip ou dossier) et compare les verdicts."

    def add_arguments(self, parser):
        parser.add_argument("bundle", help="le lot .zip téléchargé, ou le dossier extrait")

    def handle(self, *args, bundle, **options):
        try:
            manifest = capture_bundle.load_bundle(bundle)
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"Capture illisible : {exc}") from None
        self.stdout.write(
            f"Capture {manifest.get('job')} (version {manifest.get('product_version')}, "
            f"exportée le {manifest.get('exported_at')}) : "
            f"{len(manifest['runs'])} exécution(s)."
        )
        results = capture_bundle.replay_bundle(manifest)
        self.stdout.write(capture_bundle.report(results))
        if any(not r.same for r in results):
            raise CommandError("Au moins un verdict a changé.")
