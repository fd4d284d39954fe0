"""The conversation on a ticket: staff replies and notes, and customer messages added to a thread."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contacts.models import Contact

from ..models import PAUSED_STATUSES, Channel, Status, Ticket, TicketMessage
from .common import _locked, _message_id_new
from .state import _status_apply


@transaction.atomic
def ticket_reply(*, user, ticket: Ticket, body: str, internal: bool = False) -> TicketMessage:
    """A staff reply: public ones count as the first response and are emailed to the customer."""
    body = body.strip()
    if not body:
        raise ValidationError({"body": "Write a message first."})
    ticket = _locked(ticket)
    if ticket.status == Status.CLOSED:
        raise ValidationError({"body": "This ticket is closed; open a new ticket instead."})
    now = timezone.now()
    public_email = not internal and bool(ticket.contact.email)
    message = TicketMessage.objects.create(
        ticket=ticket,
        internal=internal,
        author_user=user,
        body=body,
        channel=Channel.EMAIL if public_email else ticket.channel,
        created_at=now,
        email_message_id=_message_id_new() if public_email else "",
    )
    if not internal:
        if ticket.first_responded_at is None:
            ticket.first_responded_at = now
            ticket.save(update_fields=["first_responded_at", "updated_at"])
        if ticket.status == Status.NEW:
            _status_apply(ticket=ticket, user=user, status=Status.OPEN, now=now)
    if public_email:
        from ..tasks import ticket_message_email_send

        transaction.on_commit(lambda: ticket_message_email_send.delay(message.pk))
    return message


def _customer_message_add(
    *, ticket: Ticket, contact: Contact, body: str, message_id: str, now, mail_message=None
) -> TicketMessage:
    message = TicketMessage.objects.create(
        ticket=ticket,
        author_contact=contact,
        body=body,
        channel=Channel.EMAIL,
        created_at=now,
        email_message_id=message_id,
        mail_message=mail_message,
    )
    if ticket.status in PAUSED_STATUSES or ticket.status == Status.SOLVED:
        # The customer answered: the ball is back with support.
        _status_apply(ticket=ticket, user=None, status=Status.OPEN, now=now)
    return message
