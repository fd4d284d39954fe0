from django.apps import AppConfig


class PipelineConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pipeline"

    def ready(self) -> None:
        from contacts.panels import Panel, company_panel_register, contact_panel_register

        contact_panel_register(
            Panel(
                key="deals",
                title="Deals",
                url_name="pipeline:contact_deals",
                permission="pipeline.view_deal",
                order=20,
                icon="kanban",
            )
        )
        company_panel_register(
            Panel(
                key="deals",
                title="Deals",
                url_name="pipeline:company_deals",
                permission="pipeline.view_deal",
                order=20,
                icon="kanban",
            )
        )
