"""Support mailboxes: what tickets registers into contacts.mail.

A synced message opens a ticket (a new contact for an unknown sender) or threads into its ticket; an
auto-reply, a bounce or a message from one of our own mailboxes is kept on the mailbox as "not filed" and
never opens a ticket or answers anything, so two autoresponders cannot loop through us. Public replies of
a ticket whose team has a mailbox go out through that mailbox's SMTP server (services/outbound.py).
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from contacts.mail.models import Mailbox, MailMessage
from contacts.mail.parse import clean
from contacts.mail.registry import MailboxKind, RecordContext, RecordKind
from contacts.mail.store import messages_create

from .models import Team, Ticket, TicketMessage
from .services import inbound_email_receive

FILE = "file"
AUTO_REASONS = {
    "auto-reply": "an automatic reply (Auto-Submitted or similar)",
    "bounce": "a delivery failure report",
    "bulk": "bulk mail (Precedence: bulk/junk)",
}


def team_choices() -> list[tuple[int, str]]:
    return list(Team.objects.order_by("name").values_list("pk", "name"))


class SupportHandler:
    def plan(self, *, mailbox, folder, headers: list) -> dict[int, str]:
        ids = sorted({h.message_id for h in headers})
        seen = set(
            MailMessage.objects.filter(mailbox=mailbox, message_id__in=ids).values_list(
                "message_id", flat=True
            )
        )
        seen |= set(
            TicketMessage.objects.filter(email_message_id__in=ids).values_list("email_message_id", flat=True)
        )
        senders = sorted({h.from_email for h in headers if h.from_email})
        ours = set(Mailbox.objects.filter(email_address__in=senders).values_list("email_address", flat=True))
        plan: dict[int, str] = {}
        for h in headers:
            if h.message_id in seen:
                continue  # filed already (this mailbox before a UIDVALIDITY change, or the relay webhook)
            seen.add(h.message_id)
            if h.auto_kind:
                plan[h.uid] = f"Not filed: {AUTO_REASONS.get(h.auto_kind, h.auto_kind)}."
            elif h.from_email in ours:
                plan[h.uid] = "Not filed: sent by one of our own mailboxes."
            elif not h.from_email:
                plan[h.uid] = "Not filed: no readable sender."
            else:
                plan[h.uid] = FILE
        return plan

    def store(self, *, mailbox, folder, mails: list, plan: dict[int, str]) -> None:
        status = {
            m.headers.uid: MailMessage.Status.RECEIVED
            if plan[m.headers.uid] == FILE
            else MailMessage.Status.IGNORED
            for m in mails
        }
        rows = messages_create(mailbox=mailbox, folder=folder, mails=mails, body_kept=True, status=status)
        team = Team.objects.filter(pk=mailbox.team_id).first() if mailbox.team_id else None
        for row, mail in zip(rows, mails, strict=True):
            if plan[row.uid] != FILE:
                row.note = clean(plan[row.uid] + (f" {row.note}" if row.note else ""), 500)
                row.save(update_fields=["note"])
                continue
            h = mail.headers
            try:
                with transaction.atomic():
                    inbound_email_receive(
                        sender_email=h.from_email,
                        sender_name=h.from_name,
                        subject=h.subject,
                        text=mail.body_text or "(The e-mail has no text; see its attachments.)",
                        message_id=h.message_id,
                        in_reply_to=[h.in_reply_to] if h.in_reply_to else None,
                        references=h.references,
                        team=team,
                        mail_message=row,
                    )
            except ValidationError as exc:
                row.status = MailMessage.Status.IGNORED
                row.note = clean(f"Not filed: {' '.join(exc.messages)}", 500)
                row.save(update_fields=["status", "note"])


def _ticket_record(*, pk: int, user) -> RecordContext | None:
    if not user.has_perm("tickets.view_ticket"):
        return None
    ticket = Ticket.objects.select_related("contact", "contact__company").filter(pk=pk).first()
    if ticket is None:
        return None
    return RecordContext(
        contact=ticket.contact,
        label=f"Ticket {ticket.reference}",
        url=ticket.get_absolute_url(),
        fields={
            "ticket": {
                "reference": ticket.reference,
                "subject": ticket.subject,
                "status": ticket.get_status_display(),
            }
        },
    )


def register() -> None:
    from contacts.mail.registry import mailbox_kind_register, record_kind_register

    mailbox_kind_register(
        MailboxKind(
            key=Mailbox.Purpose.SUPPORT,
            label="Support (a team's shared mailbox)",
            handler=SupportHandler(),
            manage_permission="tickets.change_team",
            personal=False,
            team_choices=team_choices,
            view_permission="tickets.view_ticket",
        )
    )
    record_kind_register(
        RecordKind(
            key="ticket",
            load=_ticket_record,
            merge_fields=("ticket.reference", "ticket.subject", "ticket.status"),
        )
    )
