from django.apps import AppConfig


def _default_pipeline_on_migrate(sender, **kwargs) -> None:
    # The data migration creates it on a fresh database; this restores it after a flush (transactional tests).
    from django.db import connections

    from .models import Pipeline, Stage
    from .services import pipeline_default_ensure

    tables = connections[kwargs.get("using", "default")].introspection.table_names()
    if Pipeline._meta.db_table in tables and Stage._meta.db_table in tables:
        pipeline_default_ensure()


class PipelineConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pipeline"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from contacts.panels import Panel, company_panel_register, contact_panel_register

        post_migrate.connect(_default_pipeline_on_migrate, sender=self)

        from . import mail

        mail.register()

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
