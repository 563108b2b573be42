from django.apps import AppConfig


class ReadersConfig(AppConfig):
    name = "readers"
    verbose_name = "Lecteurs de cartes"

    def ready(self):
        from migrations_app import user_session
        from migrations_app.panels import add_job_panel, add_machine_panel
        from migrations_app.steps.registry import add_step_module

        add_step_module("readers.steps")  # post.readers, imported with the catalogue
        user_session.set_provider(_latest_user_session)

        add_job_panel("readers/_job_readers.html")
        add_machine_panel("readers/_machine_readers.html")


def _latest_user_session(machine):
    # readers.evaluation (the agent's diagnosis, the Julie tree reader) loads on the first
    # lookup, not with the apps: `manage.py help` stays lean.
    from readers.evaluation import latest_user_session

    return latest_user_session(machine)
