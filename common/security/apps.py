"""App config of common.security; connects the audit receivers (lockouts, role changes)."""

from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "common.security"
    label = "security"
    verbose_name = "Security"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import receivers, schema  # noqa: F401
