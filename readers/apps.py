from django.apps import AppConfig


class ReadersConfig(AppConfig):
    name = "readers"
    verbose_name = "Lecteurs de cartes"

    def ready(self):
        from migrations_app import user_session
        from migrations_app.panels import add_job_panel, add_machine_panel
        from readers import steps  # noqa: F401  (registers post.readers)
        from readers.evaluation import latest_user_session

        user_session.set_provider(latest_user_session)

        add_job_panel("readers/_job_readers.html")
        add_machine_panel("readers/_machine_readers.html")
