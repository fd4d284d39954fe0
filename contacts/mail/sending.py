"""Sending e-mail from the CRM: one reusable service for staff e-mails and, later, automated ones.

`message_send` renders the merge fields, appends the sender's signature, asks every registered send guard
(consent, unsubscribe) whether the contact may get it, stores the message (threaded with what it answers),
logs it on the contact, company and deals, and queues the delivery after the commit. `message_deliver`
(the task) sends it once through the mailbox's SMTP server; transient failures are retried, permanent
ones (a 5xx answer, a refused login) mark it "not sent" with the server's words.
"""

import html
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formataddr, make_msgid

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from contacts.models import Activity, Contact
from contacts.services import activity_create

from .imap import MailServerError
from .models import Mailbox, MailMessage, MessageLink, Signature
from .registry import SEND_GUARDS, deals_for_contacts
from .render import merge_context, render
from .smtp import smtp_deliver
from .store import snippet
from .tracking import html_body, links_create
from .unsubscribe import unsubscribe_url


class SendRetry(Exception):
    """A delivery failed for a reason that may pass (network, 4xx); the task tries again."""


@dataclass(frozen=True)
class Draft:
    subject: str
    body: str


def signature_for(user) -> str:
    if user is None or not user.is_authenticated:
        return ""
    return Signature.objects.filter(user=user).values_list("text", flat=True).first() or ""


def draft_render(
    *, subject: str, body: str, contact: Contact, sender=None, extra: dict | None = None
) -> Draft:
    """Subject and body with their merge fields filled in (ValidationError names unknown fields)."""
    context = merge_context(contact=contact, sender=sender, extra=extra)
    errors = {}
    rendered = {}
    for field, text in (("subject", subject), ("body", body)):
        try:
            rendered[field] = render(text, context, field=field)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return Draft(subject=" ".join(rendered["subject"].split()), body=rendered["body"].strip())


def send_refusal(*, contact: Contact, purpose: str) -> str | None:
    for guard in SEND_GUARDS:
        reason = guard(contact=contact, purpose=purpose)
        if reason:
            return reason
    return None


def _new_message_id(mailbox: Mailbox) -> str:
    return make_msgid(domain=mailbox.email_address.rpartition("@")[2] or "cdpcrm.local").strip("<>")


@transaction.atomic
def message_send(
    *,
    sender,
    mailbox: Mailbox,
    contact: Contact,
    subject: str,
    body: str,
    track: bool | None = None,
    deal_id: int | None = None,
    reply_to: MailMessage | None = None,
    purpose: str = "sales",
    extra_fields: dict | None = None,
    unsubscribe_link: bool = False,
) -> MailMessage:
    """Queue an e-mail to a contact through the mailbox's SMTP server; logged on the record at once.
    `unsubscribe_link` (automated mail) adds the signed unsubscribe link and List-Unsubscribe headers."""
    errors: dict[str, str] = {}
    if not mailbox.can_send:
        errors["mailbox"] = (
            "This is a demo mailbox that points at no real server; connect your own mailbox to send."
            if mailbox.is_demo
            else "This mailbox has no SMTP server; add one on the mailbox page to send from it."
        )
    if not contact.email:
        errors["to"] = f"{contact.full_name} has no e-mail address."
    else:
        refusal = send_refusal(contact=contact, purpose=purpose)
        if refusal:
            errors["to"] = refusal
    try:
        draft = draft_render(subject=subject, body=body, contact=contact, sender=sender, extra=extra_fields)
    except ValidationError as exc:
        errors.update({k: " ".join(v) for k, v in exc.message_dict.items()})
        draft = None
    if draft is not None:
        if not draft.subject:
            errors.setdefault("subject", "Give the e-mail a subject.")
        if not draft.body:
            errors.setdefault("body", "Write the e-mail first.")
    if errors:
        raise ValidationError(errors)
    signature = signature_for(sender)
    text = draft.body + (f"\n\n-- \n{signature.strip()}" if signature.strip() else "")
    now = timezone.now()
    message_id = _new_message_id(mailbox)
    references = ""
    if reply_to is not None:
        references = " ".join([*reply_to.references.split(), reply_to.message_id][-20:])
    message = MailMessage.objects.create(
        mailbox=mailbox,
        message_id=message_id,
        thread_key=reply_to.thread_key if reply_to is not None else message_id,
        in_reply_to=reply_to.message_id if reply_to is not None else "",
        references=references,
        direction=MailMessage.Direction.OUTBOUND,
        status=MailMessage.Status.QUEUED,
        subject=draft.subject[:255],
        from_email=mailbox.email_address.lower(),
        from_name=mailbox.from_name,
        to=[contact.email],
        sent_at=now,
        body_text=text,
        sent_by=sender if sender is not None and sender.is_authenticated else None,
        tracked=mailbox.track_by_default if track is None else track,
        unsubscribe_link=unsubscribe_link,
    )
    if message.tracked:
        links_create(message)
    activity = activity_create(
        author=message.sent_by,
        kind=Activity.Kind.EMAIL,
        occurred_at=now,
        contact=contact,
        company=contact.company,
        subject=message.subject[:200],
        body=snippet(draft.body) if mailbox.privacy == Mailbox.Privacy.BODY else "",
        direction=Activity.Direction.OUTBOUND,
    )
    links = [MessageLink(message=message, contact=contact, activity=activity)]
    deal_ids = [deal_id] if deal_id else deals_for_contacts([contact.pk]).get(contact.pk, [])
    links += [MessageLink(message=message, contact=contact, deal_id=d) for d in deal_ids]
    MessageLink.objects.bulk_create(links)
    from .tasks import mail_message_send_task

    transaction.on_commit(lambda: mail_message_send_task.delay(message.pk))
    return message


UNSUBSCRIBE_FOOTER = "To stop getting these e-mails, unsubscribe: {url}"


def mime_build(message: MailMessage):
    """The RFC 5322 message: text, plus an HTML part with the pixel and click links when tracked; automated
    mail ends with its unsubscribe link and carries List-Unsubscribe (RFC 2369) with one-click (RFC 8058)."""
    headers = {"Message-ID": f"<{message.message_id}>"}
    if message.in_reply_to:
        headers["In-Reply-To"] = f"<{message.in_reply_to}>"
    if message.references:
        headers["References"] = " ".join(f"<{ref}>" for ref in message.references.split())
    text, footer_html = message.body_text, ""
    if message.unsubscribe_link:
        url = unsubscribe_url(message.pk)
        headers["List-Unsubscribe"] = f"<{url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        text = f"{text}\n\n-- \n{UNSUBSCRIBE_FOOTER.format(url=url)}"
        footer_html = (
            '<p style="font-size: small; color: #666">To stop getting these e-mails, '
            f'<a href="{html.escape(url)}">unsubscribe</a>.</p>'
        )
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=text,
        from_email=formataddr((message.from_name, message.from_email))
        if message.from_name
        else message.from_email,
        to=list(message.to),
        cc=list(message.cc),
        headers=headers,
    )
    if message.tracked:
        body = html_body(message, list(message.tracked_links.all()))
        email.attach_alternative(body.replace("</body>", f"{footer_html}</body>"), "text/html")
    return email.message()


def message_deliver(*, message_id: int, last_try: bool = False) -> bool:
    """Send a queued message once. Returns whether it went out; raises SendRetry for a transient failure."""
    retry = None
    with transaction.atomic():
        message = (
            MailMessage.objects.select_for_update(of=("self",))
            .select_related("mailbox")
            .filter(pk=message_id, status=MailMessage.Status.QUEUED)
            .first()
        )
        if message is None:
            return False
        message.send_attempts += 1
        try:
            if not message.mailbox.can_send:
                raise MailServerError("The mailbox has no SMTP server any more.", permanent=True)
            smtp_deliver(message.mailbox, message=mime_build(message), recipients=[*message.to, *message.cc])
        except MailServerError as exc:
            message.send_error = str(exc)
            if exc.permanent or last_try:
                message.status = MailMessage.Status.FAILED
            else:
                retry = exc
            message.save(update_fields=["send_attempts", "send_error", "status"])
        else:
            message.status = MailMessage.Status.SENT
            message.delivered_at = timezone.now()
            message.send_error = ""
            message.save(update_fields=["send_attempts", "send_error", "status", "delivered_at"])
    if retry is not None:
        raise SendRetry(str(retry))
    return message.status == MailMessage.Status.SENT


def messages_stuck(*, older_than_seconds: int) -> list[int]:
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        MailMessage.objects.filter(status=MailMessage.Status.QUEUED, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:500]
    )
