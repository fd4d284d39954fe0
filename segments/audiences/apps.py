from django.apps import AppConfig


class AudiencesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "segments.audiences"
    label = "audiences"
    verbose_name = "Audience destinations"

    def ready(self) -> None:
        from ..hooks import segment_moves_register
        from .services import segment_moves

        segment_moves_register(segment_moves)
