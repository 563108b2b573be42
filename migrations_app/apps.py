from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MigrationsAppConfig(AppConfig):
    name = "migrations_app"
    verbose_name = "Migrations Julie"

    def ready(self):
        import julieops.celery  # noqa: F401  (the Celery app, for shared_task)
        from migrations_app import steps  # noqa: F401  (fills the step registry)
        from migrations_app.roles import ensure_roles

        post_migrate.connect(ensure_roles, sender=self)
        post_migrate.connect(_create_cache_table, sender=self)


def _create_cache_table(**kwargs):
    """The database cache's table (login counters on the embedded default), made with the
    schema so `migrate` is the only step (a no-op with Redis)."""
    from django.core.management import call_command

    call_command("createcachetable", database=kwargs.get("using", "default"), verbosity=0)
