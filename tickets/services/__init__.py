"""Writes on tickets, one module per use case; this package is their single public face.

Every state change is one transaction, moves the SLA clock (see sla.py), writes a TicketEvent row
(who, what, from, to, when) and, where segments care, announces the change after the commit.
"""

from .common import UNCHANGED
from .conversation import ticket_reply
from .create import ticket_create
from .inbound import InboundResult, inbound_email_receive, message_ids_parse
from .outbound import message_email_send, message_emails_sweep, ticket_email_subject
from .state import (
    ticket_assign,
    ticket_bulk_update,
    ticket_priority_change,
    ticket_satisfaction_set,
    ticket_status_change,
    ticket_tags_set,
    ticket_team_change,
)

__all__ = [
    "UNCHANGED",
    "InboundResult",
    "inbound_email_receive",
    "message_email_send",
    "message_emails_sweep",
    "message_ids_parse",
    "ticket_assign",
    "ticket_bulk_update",
    "ticket_create",
    "ticket_email_subject",
    "ticket_priority_change",
    "ticket_reply",
    "ticket_satisfaction_set",
    "ticket_status_change",
    "ticket_tags_set",
    "ticket_team_change",
]
