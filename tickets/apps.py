from django.apps import AppConfig


class TicketsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tickets"

    def ready(self) -> None:
        from contacts.panels import Panel, company_panel_register, contact_panel_register

        from . import mail

        mail.register()

        contact_panel_register(
            Panel(
                key="tickets",
                title="Tickets",
                url_name="tickets:contact_tickets",
                permission="tickets.view_ticket",
                order=30,
                icon="life-preserver",
            )
        )
        company_panel_register(
            Panel(
                key="tickets",
                title="Tickets",
                url_name="tickets:company_tickets",
                permission="tickets.view_ticket",
                order=30,
                icon="life-preserver",
            )
        )
