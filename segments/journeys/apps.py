from django.apps import AppConfig


class JourneysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "segments.journeys"
    label = "journeys"
    verbose_name = "Journeys"

    def ready(self) -> None:
        from contacts.panels import Panel, contact_panel_register
        from profiles.unify.panels import profile_panel_register

        from . import receivers

        receivers.connect()
        for register, key, url_name in (
            (profile_panel_register, "journeys", "journeys:profile_journeys"),
            (contact_panel_register, "journeys", "journeys:contact_journeys"),
        ):
            register(
                Panel(
                    key=key,
                    title="Journeys",
                    url_name=url_name,
                    permission="journeys.view_journey",
                    order=55,
                    icon="signpost-split",
                    placement="side",
                )
            )
