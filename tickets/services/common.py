"""Helpers every ticket write shares: the audit row, the row lock, new Message-IDs, choice checks."""

import re
from email.utils import make_msgid

from django.conf import settings
from django.core.exceptions import ValidationError

from contacts.signals import crm_change_record

from ..models import Status, Ticket, TicketEvent

REFERENCE_RE = re.compile(r"\[#(\d+)\]")
MESSAGE_ID_RE = re.compile(r"<([^<>\s]+)>")
UNCHANGED = object()  # bulk updates: "leave this field as it is" (None means "unassign")


def _display_user(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def _event(*, ticket: Ticket, actor, field: str, from_value: str, to_value: str, at) -> TicketEvent:
    """The ticket's own history row; the same change is recorded for webhooks and journey triggers."""
    if field == TicketEvent.Field.CREATED:
        crm_change_record(
            topic="ticket.created",
            instance=ticket,
            contact_ids=[ticket.contact_id],
            data=_ticket_facts(ticket),
        )
    else:
        facts = {**_ticket_facts(ticket), "fields": {field: [from_value, to_value]}}
        crm_change_record(
            topic="ticket.updated", instance=ticket, contact_ids=[ticket.contact_id], data=facts
        )
        if field == TicketEvent.Field.STATUS and ticket.status == Status.SOLVED:
            crm_change_record(
                topic="ticket.solved", instance=ticket, contact_ids=[ticket.contact_id], data=facts
            )
    return TicketEvent.objects.create(
        ticket=ticket,
        actor=actor if actor is not None and actor.is_authenticated else None,
        field=field,
        from_value=from_value[:200],
        to_value=to_value[:200],
        created_at=at,
    )


def _ticket_facts(ticket: Ticket) -> dict:
    return {"priority": ticket.priority, "status": ticket.status, "channel": ticket.channel}


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().select_related("contact").get(pk=ticket.pk)


def _message_id_new() -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "cdpcrm.local"
    return make_msgid(domain=domain).strip("<>")


def _check_choice(value: str, choices, field: str) -> None:
    if value not in choices.values:
        raise ValidationError({field: f"'{value}' is not a valid {field}."})
