"""The CDP app: signal wiring to lower apps, panels on contact and company pages, task registration."""

from django.apps import AppConfig
from django.db.backends.signals import connection_created


class ProfilesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "profiles"
    verbose_name = "CDP"

    def ready(self) -> None:
        from .ingest.store import sqlite_variable_limit_raise

        connection_created.connect(sqlite_variable_limit_raise, dispatch_uid="profiles_sqlite_variable_limit")

        from django.db.models.signals import post_delete, post_save

        from contacts.models import Contact
        from contacts.panels import Panel, company_panel_register, contact_panel_register

        # Celery discovers only `<app>.tasks`: the sub-packages' tasks are registered here (names unchanged).
        from .ingest import tasks as ingest_tasks  # noqa: F401
        from .models import Source
        from .receivers import contact_saved, sources_changed
        from .unify import tasks as unify_tasks  # noqa: F401

        post_save.connect(contact_saved, sender=Contact, dispatch_uid="profiles_contact_link")
        post_save.connect(sources_changed, sender=Source, dispatch_uid="profiles_source_saved")
        post_delete.connect(sources_changed, sender=Source, dispatch_uid="profiles_source_deleted")

        from contacts.mail.registry import contact_resolver_register
        from contacts.mail.signals import mail_engaged

        from .sources.mail_events import contacts_by_identity, mail_engaged_received

        mail_engaged.connect(mail_engaged_received, dispatch_uid="profiles_mail_engaged")
        contact_resolver_register(contacts_by_identity)
        contact_panel_register(
            Panel(
                key="timeline",
                title="Timeline",
                url_name="profiles:contact_timeline",
                permission="profiles.view_profile",
                order=5,
                icon="clock-history",
            )
        )
        contact_panel_register(
            Panel(
                key="cdp",
                title="CDP",
                url_name="profiles:contact_cdp",
                permission="profiles.view_profile",
                order=5,
                icon="person-bounding-box",
                placement="side",
            )
        )
        contact_panel_register(
            Panel(
                key="cdp-customer",
                title="Customer data",
                url_name="profiles:contact_customer_context",
                permission="profiles.view_profile",
                order=10,
                icon="person-bounding-box",
                placement="customer",
            )
        )
        company_panel_register(
            Panel(
                key="cdp",
                title="CDP account",
                url_name="profiles:company_cdp",
                permission="profiles.view_profile",
                order=5,
                icon="person-bounding-box",
                placement="side",
            )
        )
