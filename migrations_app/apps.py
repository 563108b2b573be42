from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MigrationsAppConfig(AppConfig):
    name = "migrations_app"
    verbose_name = "Migrations Julie"

    def ready(self):
        import julieops.celery  # noqa: F401  (the Celery app, for shared_task)
        from migrations_app import steps  # noqa: F401  (fills the step registry)
        from migrations_app.panels import add_job_panel
        from migrations_app.roles import ensure_roles

        add_job_panel("migrations_app/_locate_panel.html")

        post_migrate.connect(ensure_roles, sender=self)
