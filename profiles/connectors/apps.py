from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    """`profiles.connectors` is its own app (label "connectors"): its delivery log and checkouts stand apart."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "profiles.connectors"
    label = "connectors"
    verbose_name = "CDP connectors"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from profiles.models import Source
        from profiles.signals import profiles_changed

        from .receivers import profiles_changed_received
        from .services import connector_source_saved

        profiles_changed.connect(profiles_changed_received, dispatch_uid="connectors_loyalty")
        post_save.connect(connector_source_saved, sender=Source, dispatch_uid="connectors_source_secret")
