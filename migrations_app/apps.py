from django.apps import AppConfig


class MigrationsAppConfig(AppConfig):
    name = "migrations_app"
    verbose_name = "Migrations Julie"

    def ready(self):
        from . import steps  # noqa: F401  (fills the step registry)
