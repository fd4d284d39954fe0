from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "segments"

    def ready(self) -> None:
        from contacts.panels import Panel, contact_panel_register
        from contacts.signals import crm_changed
        from profiles.signals import profiles_changed
        from profiles.unify.segment_api import audience_provider_register

        from . import receivers, selectors

        profiles_changed.connect(receivers.on_profiles_changed, dispatch_uid="segments_profiles_changed")
        crm_changed.connect(receivers.on_crm_changed, dispatch_uid="segments_crm_changed")
        audience_provider_register(selectors.profile_audiences)
        contact_panel_register(
            Panel(
                key="segments",
                title="Segments",
                url_name="segments:contact_segments",
                permission="segments.view_segment",
                order=50,
                icon="funnel",
                placement="side",
            )
        )
        contact_panel_register(
            Panel(
                key="segments-customer",
                title="Segments",
                url_name="segments:contact_segment_badges",
                permission="profiles.view_profile",
                order=20,
                icon="funnel",
                placement="customer",
            )
        )
