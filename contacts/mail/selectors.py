"""Reads of mailboxes and logged e-mail for pages: fixed query counts, paged lists."""

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from .models import MailAttachment, Mailbox, MailFolder, MailMessage, MailProblem, MessageLink
from .registry import MAILBOX_KINDS

MESSAGES_PER_PAGE = 20


def mailboxes_for(*, user) -> QuerySet[Mailbox]:
    """The mailboxes a user manages: their own personal ones, shared ones their role manages, all for admins."""
    mailboxes = Mailbox.objects.select_related("owner").prefetch_related(
        Prefetch("folders", queryset=MailFolder.objects.order_by("role", "name"))
    )
    if user.is_superuser:
        return mailboxes
    condition = Q(pk__in=[])
    for kind in MAILBOX_KINDS.values():
        if not user.has_perm(kind.manage_permission):
            continue
        condition |= Q(purpose=kind.key, owner=user) if kind.personal else Q(purpose=kind.key)
    return mailboxes.filter(condition)


def sending_mailboxes(*, user) -> QuerySet[Mailbox]:
    """Mailboxes a user can send from on a contact or a deal: their own sales mailboxes."""
    return Mailbox.objects.filter(owner=user, purpose=Mailbox.Purpose.SALES).order_by("name")


def mailbox_problems(*, mailbox: Mailbox) -> QuerySet[MailProblem]:
    return MailProblem.objects.filter(mailbox=mailbox).order_by("-created_at", "-id")


def mailbox_not_filed(*, mailbox: Mailbox, limit: int = 20) -> list[MailMessage]:
    """The latest messages a support mailbox kept but did not file (auto-replies, bounces, our own)."""
    return list(
        MailMessage.objects.filter(mailbox=mailbox, status=MailMessage.Status.IGNORED).order_by("-pk")[:limit]
    )


def _with_parts(messages: QuerySet[MailMessage]) -> QuerySet[MailMessage]:
    return messages.select_related("mailbox", "sent_by").prefetch_related(
        Prefetch("attachments", queryset=MailAttachment.objects.order_by("id"))
    )


def _page(messages: QuerySet[MailMessage], *, before: int | None) -> tuple[list[MailMessage], int | None]:
    """Newest first, keyset by id (ids grow with time for each record's log): a fixed cost per page."""
    if before:
        messages = messages.filter(pk__lt=before)
    rows = list(_with_parts(messages).order_by("-pk")[: MESSAGES_PER_PAGE + 1])
    more = rows[MESSAGES_PER_PAGE].pk if len(rows) > MESSAGES_PER_PAGE else None
    return rows[:MESSAGES_PER_PAGE], (rows[MESSAGES_PER_PAGE - 1].pk if more else None)


def contact_messages(*, contact_id: int, before: int | None = None):
    linked = MessageLink.objects.filter(message=OuterRef("pk"), contact_id=contact_id)
    return _page(MailMessage.objects.filter(Exists(linked)), before=before)


def company_messages(*, company_id: int, before: int | None = None):
    linked = MessageLink.objects.filter(message=OuterRef("pk"), contact__company_id=company_id)
    return _page(MailMessage.objects.filter(Exists(linked)), before=before)


def deal_messages(*, deal_id: int, before: int | None = None):
    linked = MessageLink.objects.filter(message=OuterRef("pk"), deal_id=deal_id)
    return _page(MailMessage.objects.filter(Exists(linked)), before=before)


def message_visible(*, user, message: MailMessage) -> bool:
    """Logged on a record: whoever may read e-mail sees it; otherwise only who manages the mailbox."""
    if not user.has_perm("mail.view_mailmessage"):
        return False
    kind = MAILBOX_KINDS.get(message.mailbox.purpose)
    if kind is not None and kind.view_permission and user.has_perm(kind.view_permission):
        return True
    if message.links.exists():
        return True
    return mailboxes_for(user=user).filter(pk=message.mailbox_id).exists()


def thread_messages(*, message: MailMessage, limit: int = 50) -> list[MailMessage]:
    """The logged messages of the thread, oldest first (at most `limit`, the newest ones)."""
    linked = MessageLink.objects.filter(message=OuterRef("pk"))
    messages = MailMessage.objects.filter(
        Q(pk=message.pk) | (Q(thread_key=message.thread_key) & Exists(linked))
    )
    rows = list(_with_parts(messages).order_by("-sent_at", "-pk")[:limit])
    return list(reversed(rows))
