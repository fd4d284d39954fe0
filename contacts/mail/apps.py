from django.apps import AppConfig


class MailConfig(AppConfig):
    """`contacts.mail` is its own app (label "mail") so its tables and migrations stand apart from contacts'."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "contacts.mail"
    label = "mail"
    verbose_name = "E-mail"

    def ready(self) -> None:
        from contacts.panels import Panel, company_panel_register, contact_panel_register

        from . import sales
        from .registry import MailboxKind, mailbox_kind_register

        mailbox_kind_register(
            MailboxKind(
                key="sales",
                label="Sales (my mailbox)",
                handler=sales.SalesHandler(),
                manage_permission="mail.add_mailbox",
                personal=True,
                sync_sent_folder=True,
            )
        )
        contact_panel_register(
            Panel(
                key="email",
                title="E-mail",
                url_name="mail:contact_panel",
                permission="mail.view_mailmessage",
                order=10,
                icon="envelope",
            )
        )
        company_panel_register(
            Panel(
                key="email",
                title="E-mail",
                url_name="mail:company_panel",
                permission="mail.view_mailmessage",
                order=10,
                icon="envelope",
            )
        )
