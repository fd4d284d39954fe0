"""Writes on tickets: create, reply, status/priority/assignee/team changes, inbound and outbound email.

Every state change is one transaction, moves the SLA clock (see sla.py), writes a TicketEvent row
(who, what, from, to, when) and, where segments care, announces the change after the commit.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from email.utils import make_msgid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import strip_tags

from contacts.models import Contact, Tag
from contacts.services import contact_create, tag_list_resolve
from contacts.signals import crm_change_record, crm_changed_on_commit

from .models import (
    DONE_STATUSES,
    PAUSED_STATUSES,
    Channel,
    Priority,
    Status,
    Team,
    Ticket,
    TicketEvent,
    TicketMessage,
)
from .sla import sla_due_times

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


# --- create -------------------------------------------------------------------------------------------


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


# --- conversation -------------------------------------------------------------------------------------


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
        from .tasks import ticket_message_email_send

        transaction.on_commit(lambda: ticket_message_email_send.delay(message.pk))
    return message


def _customer_message_add(
    *, ticket: Ticket, contact: Contact, body: str, message_id: str, now
) -> TicketMessage:
    message = TicketMessage.objects.create(
        ticket=ticket,
        author_contact=contact,
        body=body,
        channel=Channel.EMAIL,
        created_at=now,
        email_message_id=message_id,
    )
    if ticket.status in PAUSED_STATUSES or ticket.status == Status.SOLVED:
        # The customer answered: the ball is back with support.
        _status_apply(ticket=ticket, user=None, status=Status.OPEN, now=now)
    return message


# --- state changes ------------------------------------------------------------------------------------


def _status_apply(*, ticket: Ticket, user, status: str, now) -> None:
    old = ticket.status
    if ticket.paused_at is not None and status not in PAUSED_STATUSES:
        pause = now - ticket.paused_at
        ticket.paused_seconds += int(pause.total_seconds())
        ticket.resolution_due_at = ticket.resolution_due_at + pause if ticket.resolution_due_at else None
        ticket.paused_at = None
    if status in PAUSED_STATUSES and ticket.paused_at is None:
        ticket.paused_at = now
    if status == Status.SOLVED:
        ticket.solved_at = now
    elif status not in DONE_STATUSES:
        ticket.solved_at = None
    ticket.status = status
    ticket.save(
        update_fields=[
            "status",
            "paused_at",
            "paused_seconds",
            "resolution_due_at",
            "solved_at",
            "updated_at",
        ]
    )
    _event(
        ticket=ticket,
        actor=user,
        field=TicketEvent.Field.STATUS,
        from_value=Status(old).label,
        to_value=Status(status).label,
        at=now,
    )
    crm_changed_on_commit(contact_ids=[ticket.contact_id], fact="ticket")


@transaction.atomic
def ticket_status_change(*, user, ticket: Ticket, status: str) -> Ticket:
    _check_choice(status, Status, "status")
    ticket = _locked(ticket)
    if status == ticket.status:
        return ticket
    if ticket.status == Status.CLOSED:
        raise ValidationError({"status": "A closed ticket cannot change; open a new ticket instead."})
    if status == Status.CLOSED and ticket.status != Status.SOLVED:
        raise ValidationError({"status": "Solve the ticket before closing it."})
    if status == Status.NEW:
        raise ValidationError({"status": "A ticket cannot go back to new."})
    _status_apply(ticket=ticket, user=user, status=status, now=timezone.now())
    return ticket


@transaction.atomic
def ticket_priority_change(*, user, ticket: Ticket, priority: str) -> Ticket:
    """A new priority brings new SLA targets, counted from creation (finished pauses still count)."""
    _check_choice(priority, Priority, "priority")
    ticket = _locked(ticket)
    if priority == ticket.priority:
        return ticket
    old = ticket.priority
    ticket.priority = priority
    ticket.first_response_due_at, ticket.resolution_due_at = sla_due_times(
        created_at=ticket.created_at, priority=priority, paused_seconds=ticket.paused_seconds
    )
    ticket.save(update_fields=["priority", "first_response_due_at", "resolution_due_at", "updated_at"])
    _event(
        ticket=ticket,
        actor=user,
        field=TicketEvent.Field.PRIORITY,
        from_value=Priority(old).label,
        to_value=Priority(priority).label,
        at=timezone.now(),
    )
    crm_changed_on_commit(contact_ids=[ticket.contact_id], fact="ticket")
    return ticket


@transaction.atomic
def ticket_assign(*, user, ticket: Ticket, assignee) -> Ticket:
    """Assign to an agent (or unassign with None); a new ticket that gets an owner becomes open."""
    if assignee is not None and not assignee.has_perm("tickets.change_ticket"):
        raise ValidationError({"assignee": f"{_display_user(assignee)} is not a support agent."})
    ticket = _locked(ticket)
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    old = _display_user(ticket.assignee)
    now = timezone.now()
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    _event(
        ticket=ticket,
        actor=user,
        field=TicketEvent.Field.ASSIGNEE,
        from_value=old or "Unassigned",
        to_value=_display_user(assignee) or "Unassigned",
        at=now,
    )
    if assignee is not None and ticket.status == Status.NEW:
        _status_apply(ticket=ticket, user=user, status=Status.OPEN, now=now)
    return ticket


@transaction.atomic
def ticket_team_change(*, user, ticket: Ticket, team: Team | None) -> Ticket:
    ticket = _locked(ticket)
    if ticket.team_id == (team.pk if team else None):
        return ticket
    old = ticket.team.name if ticket.team_id else "No team"
    ticket.team = team
    ticket.save(update_fields=["team", "updated_at"])
    _event(
        ticket=ticket,
        actor=user,
        field=TicketEvent.Field.TEAM,
        from_value=old,
        to_value=team.name if team else "No team",
        at=timezone.now(),
    )
    return ticket


@transaction.atomic
def ticket_tags_set(*, user, ticket: Ticket, tags: Iterable[Tag | str]) -> Ticket:
    ticket.tags.set(tag_list_resolve(tags=tags))
    return ticket


@transaction.atomic
def ticket_satisfaction_set(*, user, ticket: Ticket, rating: int, comment: str = "") -> Ticket:
    if not 1 <= rating <= 5:
        raise ValidationError({"satisfaction_rating": "Rate from 1 to 5."})
    ticket = _locked(ticket)
    if ticket.status not in DONE_STATUSES:
        raise ValidationError({"satisfaction_rating": "Only solved tickets are rated."})
    old = str(ticket.satisfaction_rating or "")
    ticket.satisfaction_rating = rating
    ticket.satisfaction_comment = comment.strip()
    ticket.save(update_fields=["satisfaction_rating", "satisfaction_comment", "updated_at"])
    _event(
        ticket=ticket,
        actor=user,
        field=TicketEvent.Field.SATISFACTION,
        from_value=old,
        to_value=str(rating),
        at=timezone.now(),
    )
    return ticket


@transaction.atomic
def ticket_bulk_update(*, user, ticket_ids: Iterable[int], status=UNCHANGED, assignee=UNCHANGED) -> int:
    """Apply a status and/or assignee to many tickets, each change recorded; all or nothing."""
    tickets = list(Ticket.objects.filter(pk__in=list(ticket_ids)).order_by("pk"))
    for ticket in tickets:
        if assignee is not UNCHANGED:
            ticket = ticket_assign(user=user, ticket=ticket, assignee=assignee)
        if status is not UNCHANGED:
            ticket_status_change(user=user, ticket=ticket, status=status)
    return len(tickets)


# --- email --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboundResult:
    ticket: Ticket
    message: TicketMessage
    created_ticket: bool
    duplicate: bool


def message_ids_parse(value: str | Iterable[str] | None) -> list[str]:
    """Message-ids without angle brackets from a header value ("<a@x> <b@y>") or a list of them."""
    if not value:
        return []
    items = [value] if isinstance(value, str) else list(value)
    ids: list[str] = []
    for item in items:
        found = MESSAGE_ID_RE.findall(item)
        ids.extend(found or [part.strip("<>") for part in item.split() if part.strip("<>")])
    return ids


def _thread_find(*, subject: str, reply_ids: list[str], sender: Contact) -> Ticket | None:
    """The ticket an email answers: by In-Reply-To/References to a stored message (ids are unguessable),
    else by "[#id]" in the subject when the sender is that ticket's customer (a guessed number must not
    let a stranger write into someone else's ticket)."""
    match = REFERENCE_RE.search(subject)
    if match:
        ticket = Ticket.objects.filter(pk=int(match.group(1)), contact=sender).first()
        if ticket is not None:
            return ticket
    if reply_ids:
        message = (
            TicketMessage.objects.filter(email_message_id__in=reply_ids)
            .select_related("ticket")
            .order_by("-id")
            .first()
        )
        if message is not None:
            return message.ticket
    return None


def _contact_for_sender(*, email: str, name: str) -> Contact:
    contact = Contact.objects.filter(email__iexact=email).first()
    if contact is not None:
        return contact
    first, _, last = name.strip().partition(" ")
    return contact_create(
        user=None, email=email, first_name=first[:100], last_name=last[:100], lead_source="Support email"
    )


def _inbound_existing(message_id: str) -> InboundResult | None:
    message = TicketMessage.objects.filter(email_message_id=message_id).select_related("ticket").first()
    if message is None:
        return None
    return InboundResult(ticket=message.ticket, message=message, created_ticket=False, duplicate=True)


def inbound_email_receive(
    *,
    sender_email: str,
    sender_name: str = "",
    subject: str,
    text: str = "",
    html: str = "",
    message_id: str,
    in_reply_to: str | Iterable[str] | None = None,
    references: str | Iterable[str] | None = None,
) -> InboundResult:
    """File an email from a customer: thread it onto its ticket or open a new one; a re-sent
    message-id returns the message already filed."""
    message_id = message_id.strip().strip("<>")
    if not message_id:
        raise ValidationError({"message_id": "The email has no Message-ID."})
    existing = _inbound_existing(message_id)
    if existing is not None:
        return existing
    try:
        return _inbound_file(
            sender_email=sender_email.strip(),
            sender_name=sender_name,
            subject=subject.strip(),
            body=(text.strip() or strip_tags(html).strip()),
            message_id=message_id,
            reply_ids=message_ids_parse(in_reply_to) + message_ids_parse(references),
        )
    except IntegrityError:
        # The same message arrived twice at once; the other request filed it.
        existing = _inbound_existing(message_id)
        if existing is None:
            raise
        return existing


@transaction.atomic
def _inbound_file(
    *, sender_email: str, sender_name: str, subject: str, body: str, message_id: str, reply_ids: list[str]
) -> InboundResult:
    if not body:
        raise ValidationError({"text": "The email has no text."})
    contact = _contact_for_sender(email=sender_email, name=sender_name)
    ticket = _thread_find(subject=subject, reply_ids=reply_ids, sender=contact)
    if ticket is not None and ticket.status != Status.CLOSED:
        ticket = _locked(ticket)
        message = _customer_message_add(
            ticket=ticket, contact=contact, body=body, message_id=message_id, now=timezone.now()
        )
        return InboundResult(ticket=ticket, message=message, created_ticket=False, duplicate=False)
    clean_subject = " ".join(REFERENCE_RE.sub("", subject).split()) or "(no subject)"
    ticket = ticket_create(
        user=None,
        contact=contact,
        subject=clean_subject[:200],
        body=body,
        channel=Channel.EMAIL,
        email_message_id=message_id,
    )
    return InboundResult(ticket=ticket, message=ticket.messages.get(), created_ticket=True, duplicate=False)


def message_emails_sweep(*, older_than_seconds: int = 300) -> int:
    """Re-enqueue public replies whose email never went out (broker down at commit, task lost)."""
    from .tasks import ticket_message_email_send

    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    pending = list(
        TicketMessage.objects.filter(
            internal=False, author_user__isnull=False, email_sent_at__isnull=True, created_at__lt=cutoff
        )
        .exclude(email_message_id="")
        .values_list("pk", flat=True)[:500]
    )
    for message_id in pending:
        ticket_message_email_send.delay(message_id)
    return len(pending)


def ticket_email_subject(ticket: Ticket) -> str:
    return f"Re: [{ticket.reference}] {ticket.subject}"


@transaction.atomic
def message_email_send(*, message_id: int) -> bool:
    """Email a public reply to the customer, once. Returns whether an email went out."""
    message = (
        TicketMessage.objects.select_for_update(of=("self",))
        .select_related("ticket", "ticket__contact")
        .filter(pk=message_id)
        .first()
    )
    if message is None or message.internal or message.email_sent_at is not None:
        return False
    ticket = message.ticket
    if not ticket.contact.email:
        return False
    earlier_ids = list(
        ticket.messages.exclude(email_message_id="")
        .filter(internal=False, created_at__lte=message.created_at)
        .exclude(pk=message.pk)
        .order_by("created_at", "id")
        .values_list("email_message_id", flat=True)
    )
    headers = {"Message-ID": f"<{message.email_message_id or _message_id_new()}>"}
    if earlier_ids:
        headers["In-Reply-To"] = f"<{earlier_ids[-1]}>"
        headers["References"] = " ".join(f"<{mid}>" for mid in earlier_ids[-20:])
    email = EmailMessage(
        subject=ticket_email_subject(ticket),
        body=f"{message.body}\n\n--\nReply to this email to answer ticket {ticket.reference}.",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[ticket.contact.email],
        headers=headers,
    )
    email.send()
    message.email_sent_at = timezone.now()
    message.save(update_fields=["email_sent_at"])
    return True
