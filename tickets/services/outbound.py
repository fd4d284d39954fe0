"""Outbound email: send a public reply to the customer once, threaded; re-send the ones a lost task left."""

import smtplib
from datetime import timedelta
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from contacts.mail.imap import MailServerError
from contacts.mail.models import Mailbox
from contacts.mail.sending import signature_for
from contacts.mail.smtp import smtp_deliver

from ..models import Ticket, TicketMessage
from .common import _message_id_new


def team_mailbox(team_id: int | None) -> Mailbox | None:
    """The team's support mailbox when it can send: the team's replies then go out through it."""
    if team_id is None:
        return None
    mailbox = Mailbox.objects.filter(team_id=team_id, purpose=Mailbox.Purpose.SUPPORT).first()
    return mailbox if mailbox is not None and mailbox.can_send else None


def message_emails_sweep(*, older_than_seconds: int = 300) -> int:
    """Re-enqueue public replies whose email never went out (broker down at commit, task lost)."""
    from ..tasks import ticket_message_email_send

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
    mailbox = team_mailbox(ticket.team_id)
    signature = signature_for(message.author_user).strip() if mailbox is not None else ""
    body = message.body + (f"\n\n{signature}" if signature else "")
    email = EmailMessage(
        subject=ticket_email_subject(ticket),
        body=f"{body}\n\n--\nReply to this email to answer ticket {ticket.reference}.",
        from_email=formataddr((mailbox.from_name, mailbox.email_address))
        if mailbox
        else settings.DEFAULT_FROM_EMAIL,
        to=[ticket.contact.email],
        headers=headers,
    )
    if mailbox is None:
        email.send()
    else:
        try:
            smtp_deliver(mailbox, message=email.message(), recipients=[ticket.contact.email])
        except MailServerError as exc:
            # The task retries SMTP errors with backoff; the reply stays unsent (and is swept) until then.
            raise smtplib.SMTPException(str(exc)) from None
    message.email_sent_at = timezone.now()
    message.save(update_fields=["email_sent_at"])
    return True
