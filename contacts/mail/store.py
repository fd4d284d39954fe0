"""Storing synced messages in bulk: threads by Message-ID / In-Reply-To / References, attachments.

A fixed number of queries per batch whatever its size: one lookup of the referenced ids, one insert of
the messages, one of the attachments.
"""

import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.text import get_valid_filename

from .models import MailAttachment, Mailbox, MailFolder, MailMessage
from .parse import ParsedMail, clean

SNIPPET_CHARS = 2000


def thread_keys_for(headers_list: list) -> list[str]:
    """The thread of each message: that of the nearest message it answers that is stored (or earlier in
    this batch), else the first of its References (the thread's root), else itself."""
    refs = {r for h in headers_list for r in h.reply_ids}
    known: dict[str, str] = {}
    if refs:
        known = dict(
            MailMessage.objects.filter(message_id__in=sorted(refs)).values_list("message_id", "thread_key")
        )
    keys = []
    for h in headers_list:
        key = next((known[r] for r in h.reply_ids if r in known), None)
        if key is None:
            key = (h.references[0] if h.references else h.in_reply_to) or h.message_id
        known.setdefault(h.message_id, key)
        keys.append(key[:255])
    return keys


def direction_of(mailbox: Mailbox, folder: MailFolder | None, headers) -> str:
    if (
        folder is not None and folder.role == MailFolder.Role.SENT
    ) or headers.from_email == mailbox.email_address.lower():
        return MailMessage.Direction.OUTBOUND
    return MailMessage.Direction.INBOUND


def attachment_save(*, filename: str, content: bytes) -> str:
    name = get_valid_filename(filename)[:80] or "attachment"
    return default_storage.save(f"mail/{secrets.token_hex(8)}/{name}", ContentFile(content))


def messages_create(
    *,
    mailbox: Mailbox,
    folder: MailFolder | None,
    mails: list[ParsedMail],
    body_kept: bool,
    status: dict[int, str] | None = None,
) -> list[MailMessage]:
    """One MailMessage per parsed mail (same order), with attachments when bodies are kept."""
    keys = thread_keys_for([m.headers for m in mails])
    rows = []
    for mail, key in zip(mails, keys, strict=True):
        h = mail.headers
        rows.append(
            MailMessage(
                mailbox=mailbox,
                folder=folder,
                uid=h.uid,
                message_id=h.message_id,
                thread_key=key,
                in_reply_to=h.in_reply_to,
                references=" ".join(h.references)[:5000],
                direction=direction_of(mailbox, folder, h),
                status=(status or {}).get(h.uid, MailMessage.Status.RECEIVED),
                subject=h.subject,
                from_email=h.from_email,
                from_name=h.from_name,
                to=h.to,
                cc=h.cc,
                sent_at=h.date,
                body_text=mail.body_text if body_kept else "",
                body_kept=body_kept,
                size=min(h.size, 2**31 - 1),
                auto_kind=h.auto_kind,
                note=clean("; ".join(mail.notes), 500),
            )
        )
    MailMessage.objects.bulk_create(rows)
    if body_kept:
        attachments = []
        for row, mail in zip(rows, mails, strict=True):
            for part in mail.attachments:
                attachments.append(
                    MailAttachment(
                        message=row,
                        filename=part.filename,
                        content_type=part.content_type,
                        size=min(part.size, 2**31 - 1),
                        file=attachment_save(filename=part.filename, content=part.content)
                        if part.content is not None
                        else "",
                        note=part.note,
                    )
                )
        MailAttachment.objects.bulk_create(attachments)
    return rows


def snippet(text: str) -> str:
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS].rstrip() + " …"
