from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    """`profiles.connectors` is its own app (label "connectors"): its delivery log and checkouts stand apart."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "profiles.connectors"
    label = "connectors"
    verbose_name = "CDP connectors"

    def ready(self) -> None:
        from profiles.signals import profiles_changed

        from .receivers import profiles_changed_received

        profiles_changed.connect(profiles_changed_received, dispatch_uid="connectors_loyalty")
