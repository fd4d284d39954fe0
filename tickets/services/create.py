"""Opening a ticket: SLA due times, the customer's first message and the "created" audit row."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contacts.models import Contact, Tag
from contacts.services import tag_list_resolve
from contacts.signals import crm_changed_on_commit

from ..models import Channel, Priority, Status, Team, Ticket, TicketEvent, TicketMessage
from ..sla import sla_due_times
from .common import _check_choice, _event


@transaction.atomic
def ticket_create(
    *,
    user,
    contact: Contact,
    subject: str,
    body: str = "",
    priority: str = Priority.NORMAL,
    channel: str = Channel.EMAIL,
    status: str = Status.NEW,
    team: Team | None = None,
    assignee=None,
    tags: Iterable[Tag | str] | None = None,
    email_message_id: str = "",
) -> Ticket:
    """Open a ticket; `body` is the customer's request and becomes the first message of the thread."""
    subject = subject.strip()
    if not subject:
        raise ValidationError({"subject": "Give the ticket a subject."})
    _check_choice(priority, Priority, "priority")
    _check_choice(channel, Channel, "channel")
    if status not in (Status.NEW, Status.OPEN):
        raise ValidationError({"status": "A new ticket starts as new or open."})
    now = timezone.now()
    first_due, resolution_due = sla_due_times(created_at=now, priority=priority)
    ticket = Ticket(
        subject=subject,
        contact=contact,
        company_id=contact.company_id,
        status=status,
        priority=priority,
        channel=channel,
        team=team,
        assignee=assignee,
        created_by=user if user is not None and user.is_authenticated else None,
        created_at=now,
        first_response_due_at=first_due,
        resolution_due_at=resolution_due,
    )
    ticket.full_clean(exclude=["contact", "company", "team", "assignee", "created_by"])
    ticket.save()
    if tags:
        ticket.tags.set(tag_list_resolve(tags=tags))
    if body.strip():
        TicketMessage.objects.create(
            ticket=ticket,
            author_contact=contact,
            body=body.strip(),
            channel=channel,
            created_at=now,
            email_message_id=email_message_id,
        )
    _event(
        ticket=ticket,
        actor=user,
        field=TicketEvent.Field.CREATED,
        from_value="",
        to_value=ticket.get_status_display(),
        at=now,
    )
    crm_changed_on_commit(contact_ids=[ticket.contact_id], fact="ticket")
    return ticket
