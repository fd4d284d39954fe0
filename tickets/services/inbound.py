"""Inbound email: thread a customer's message onto its ticket or open a new one, exactly once."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import strip_tags

from contacts.mail.sales import contacts_for_emails
from contacts.models import Contact
from contacts.services import contact_create

from ..models import Channel, Status, Team, Ticket, TicketMessage
from .common import MESSAGE_ID_RE, REFERENCE_RE, _locked
from .conversation import _customer_message_add
from .create import ticket_create


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
    # Any other address the CRM knows for a contact (e.g. one the CDP saw them use).
    known = contacts_for_emails({email.lower()})
    if known:
        return Contact.objects.get(pk=known[email.lower()])
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
    team: Team | None = None,
    mail_message=None,
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
            team=team,
            mail_message=mail_message,
        )
    except IntegrityError:
        # The same message arrived twice at once; the other request filed it.
        existing = _inbound_existing(message_id)
        if existing is None:
            raise
        return existing


@transaction.atomic
def _inbound_file(
    *,
    sender_email: str,
    sender_name: str,
    subject: str,
    body: str,
    message_id: str,
    reply_ids: list[str],
    team: Team | None = None,
    mail_message=None,
) -> InboundResult:
    if not body:
        raise ValidationError({"text": "The email has no text."})
    contact = _contact_for_sender(email=sender_email, name=sender_name)
    ticket = _thread_find(subject=subject, reply_ids=reply_ids, sender=contact)
    if ticket is not None and ticket.status != Status.CLOSED:
        ticket = _locked(ticket)
        message = _customer_message_add(
            ticket=ticket,
            contact=contact,
            body=body,
            message_id=message_id,
            now=timezone.now(),
            mail_message=mail_message,
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
        team=team,
    )
    message = ticket.messages.get()
    if mail_message is not None:
        message.mail_message = mail_message
        message.save(update_fields=["mail_message"])
    return InboundResult(ticket=ticket, message=message, created_ticket=True, duplicate=False)
