from django.apps import AppConfig


class JourneysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "segments.journeys"
    label = "journeys"
    verbose_name = "Journeys"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
