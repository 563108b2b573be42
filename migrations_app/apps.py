from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MigrationsAppConfig(AppConfig):
    name = "migrations_app"
    verbose_name = "Migrations Julie"

    def ready(self):
        # Neither the Celery app nor the step catalogue is imported here: migrations_app.tasks
        # imports the Celery app, the registry imports the catalogue on its first read, so a
        # command that needs neither starts fast (README: `manage.py` in <= 250 ms).
        from migrations_app.panels import add_job_panel
        from migrations_app.roles import ensure_roles

        add_job_panel("migrations_app/_locate_panel.html")

        post_migrate.connect(ensure_roles, sender=self)
        add_job_panel("migrations_app/_cutover_window.html")
        post_migrate.connect(_create_cache_table, sender=self)


def _create_cache_table(**kwargs):
    """The database cache's table (login counters on the embedded default), made with the
    schema so `migrate` is the only step (a no-op with Redis)."""
    from django.core.management import call_command

    call_command("createcachetable", database=kwargs.get("using", "default"), verbosity=0)
