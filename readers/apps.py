from django.apps import AppConfig


class ReadersConfig(AppConfig):
    name = "readers"
    verbose_name = "Lecteurs de cartes"
