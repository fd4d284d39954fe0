"""Polling a mailbox over IMAP: UID + UIDVALIDITY per folder, bounded batches, one mailbox at a time.

Each batch of UIDs is stored in one transaction together with the folder's new `last_uid`, so a crash or
restart resumes exactly after the last stored batch (nothing fetched twice, nothing skipped). A changed
UIDVALIDITY starts the folder over; messages already stored are recognised by Message-ID and not
stored again. A message that cannot be read or stored becomes a MailProblem row with the reason and the
batch goes on. A failing mailbox records its error, tells its owner, and backs off; it never holds up
the others (each mailbox is its own task, claimed with a lease).
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from .imap import ImapSession, MailServerError, imap_open
from .models import Mailbox, MailFolder, MailProblem
from .parse import ParsedMail, clean, headers_parse, message_parse
from .registry import MAILBOX_KINDS

logger = logging.getLogger(__name__)

LEASE_SECONDS = 600
SENT_NAMES = (
    "sent",
    "sent items",
    "sent messages",
    "sent mail",
    "[gmail]/sent mail",
    "inbox.sent",
    "gesendet",
)
MAX_BACKOFF_SECONDS = 3600


@dataclass
class PollResult:
    polled: bool = False
    fetched: int = 0  # messages whose headers were read
    stored: int = 0  # messages handed to the mailbox's handler
    problems: int = 0
    more: bool = False  # a backlog is left for the next run
    error: str = ""
    folders: dict[str, int] = field(default_factory=dict)


def mailbox_claim(*, mailbox_id: int) -> Mailbox | None:
    """Take the mailbox for one poll (a lease, so two workers never poll it at once)."""
    now = timezone.now()
    taken = (
        Mailbox.objects.filter(pk=mailbox_id)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + timedelta(seconds=LEASE_SECONDS))
    )
    return Mailbox.objects.select_related("owner").filter(pk=mailbox_id).first() if taken else None


def mailboxes_due(*, limit: int = 500) -> list[int]:
    now = timezone.now()
    return list(
        Mailbox.objects.filter(paused=False, is_demo=False, next_poll_at__lte=now)
        .exclude(imap_host="")
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .order_by("next_poll_at")
        .values_list("pk", flat=True)[:limit]
    )


def _sent_folder(session: ImapSession) -> str | None:
    folders = session.folders()
    for folder in folders:
        if "\\sent" in folder.flags:
            return folder.name
    by_name = {f.name.lower(): f.name for f in folders}
    return next((by_name[name] for name in SENT_NAMES if name in by_name), None)


def _folders(mailbox: Mailbox, session: ImapSession, kind) -> list[MailFolder]:
    folders = list(mailbox.folders.all())
    if not any(f.role == MailFolder.Role.INBOX for f in folders):
        folders.append(MailFolder.objects.create(mailbox=mailbox, name="INBOX", role=MailFolder.Role.INBOX))
    if kind.sync_sent_folder and not any(f.role == MailFolder.Role.SENT for f in folders):
        name = _sent_folder(session)
        if name:
            folders.append(MailFolder.objects.create(mailbox=mailbox, name=name, role=MailFolder.Role.SENT))
    return sorted(folders, key=lambda f: (f.role != MailFolder.Role.INBOX, f.pk))


def _problem(mailbox, folder, uid: int, reason: str, subject: str = "") -> MailProblem:
    return MailProblem(
        mailbox=mailbox,
        folder_name=folder.name,
        uid=uid,
        subject=clean(subject, 255),
        reason=clean(reason, 500),
    )


def _read(items, plan, bodies, *, folder, mailbox, problems) -> list[ParsedMail]:
    mails = []
    limit = settings.MAIL_MAX_MESSAGE_BYTES
    for item, headers in items:
        if headers.uid not in plan:
            continue
        raw = bodies.get(headers.uid)
        if item.size > limit or raw is None:
            note = (
                f"larger than {limit // (1024 * 1024)} MB ({item.size:,} bytes): headers only"
                if item.size > limit
                else "the server sent no body: headers only"
            )
            mails.append(
                ParsedMail(headers=headers, body_text="", attachments=[], notes=[*headers.notes, note])
            )
            continue
        try:
            mails.append(message_parse(raw, uid=headers.uid, fallback_date=item.internal_date))
        except Exception as exc:  # a parser bug on hostile input must not stop the batch
            logger.warning("mailbox %s uid %s unreadable: %r", mailbox.pk, headers.uid, exc)
            problems.append(
                _problem(mailbox, folder, headers.uid, f"cannot be read: {exc!r}"[:500], headers.subject)
            )
    return mails


def _store(handler, *, mailbox, folder, mails, plan, problems) -> int:
    """Store the batch in one go; if that fails, one by one, so one bad message does not hold up the rest."""
    try:
        with transaction.atomic():
            handler.store(mailbox=mailbox, folder=folder, mails=mails, plan=plan)
        return len(mails)
    except DatabaseError as exc:
        if len(mails) == 1:
            problems.append(
                _problem(
                    mailbox,
                    folder,
                    mails[0].headers.uid,
                    f"cannot be stored: {exc}",
                    mails[0].headers.subject,
                )
            )
            return 0
    stored = 0
    for mail in mails:
        try:
            with transaction.atomic():
                handler.store(mailbox=mailbox, folder=folder, mails=[mail], plan=plan)
            stored += 1
        except DatabaseError as exc:
            problems.append(
                _problem(mailbox, folder, mail.headers.uid, f"cannot be stored: {exc}", mail.headers.subject)
            )
    return stored


def folder_sync(
    *, mailbox: Mailbox, folder: MailFolder, session: ImapSession, kind, budget: int, result: PollResult
) -> int:
    """Fetch up to `budget` new messages of one folder; returns how many UIDs were worked through."""
    status = session.select(folder.name)
    if folder.uidvalidity != status.uidvalidity:
        if folder.uidvalidity is not None:
            logger.info("mailbox %s folder %s: UIDVALIDITY changed, starting over", mailbox.pk, folder.name)
            folder.uidvalidity_changes += 1
        folder.uidvalidity = status.uidvalidity
        folder.last_uid = 0
        folder.backlog_total = folder.backlog_done = 0
        folder.save(
            update_fields=["uidvalidity", "uidvalidity_changes", "last_uid", "backlog_total", "backlog_done"]
        )
    uids = session.uids_after(folder.last_uid)
    if not uids:
        folder.backlog_total = folder.backlog_done = 0
        folder.last_synced_at = timezone.now()
        folder.save(update_fields=["backlog_total", "backlog_done", "last_synced_at"])
        return 0
    if folder.backlog_left == 0:
        folder.backlog_total, folder.backlog_done = len(uids), 0
    else:
        folder.backlog_total = folder.backlog_done + len(uids)
    folder.save(update_fields=["backlog_total", "backlog_done"])
    worked = 0
    batch_size = max(1, settings.MAIL_SYNC_BATCH)
    for start in range(0, min(len(uids), budget), batch_size):
        chunk = uids[start : min(start + batch_size, budget)]
        problems: list[MailProblem] = []
        items = []
        for item in session.fetch_headers(chunk):
            try:
                items.append(
                    (
                        item,
                        headers_parse(
                            item.header, uid=item.uid, size=item.size, fallback_date=item.internal_date
                        ),
                    )
                )
            except Exception as exc:  # hostile headers: listed, never fatal
                problems.append(_problem(mailbox, folder, item.uid, f"headers cannot be read: {exc!r}"[:500]))
        plan = kind.handler.plan(mailbox=mailbox, folder=folder, headers=[h for _, h in items])
        small = [
            item.uid for item, _ in items if item.uid in plan and item.size <= settings.MAIL_MAX_MESSAGE_BYTES
        ]
        bodies = session.fetch_bodies(small)
        mails = _read(items, plan, bodies, folder=folder, mailbox=mailbox, problems=problems)
        with transaction.atomic():
            stored = (
                _store(
                    kind.handler, mailbox=mailbox, folder=folder, mails=mails, plan=plan, problems=problems
                )
                if mails
                else 0
            )
            MailProblem.objects.bulk_create(problems)
            folder.last_uid = max(chunk)
            folder.backlog_done += len(chunk)
            folder.last_synced_at = timezone.now()
            folder.save(update_fields=["last_uid", "backlog_done", "last_synced_at"])
        result.fetched += len(items)
        result.stored += stored
        result.problems += len(problems)
        worked += len(chunk)
    result.folders[folder.name] = worked
    if worked < len(uids):
        result.more = True
    return worked


def _alert_owner(mailbox: Mailbox, error: str) -> None:
    from contacts.models import Task
    from contacts.services import task_create

    if mailbox.owner_id is None:
        return
    if mailbox.alert_task_id and Task.objects.filter(pk=mailbox.alert_task_id, done_at__isnull=True).exists():
        return
    task = task_create(
        created_by=None,
        assignee=mailbox.owner,
        title=f"Mailbox {mailbox.name} cannot sync"[:200],
        notes=f"{error}\n\nFix the settings or check the connection: {settings.SITE_URL}{mailbox.get_absolute_url()}",
        due_at=timezone.now(),
    )
    mailbox.alert_task_id = task.pk
    mailbox.save(update_fields=["alert_task_id"])


def _failure(mailbox: Mailbox, error: str) -> None:
    now = timezone.now()
    mailbox.failure_count += 1
    backoff = min(settings.MAIL_POLL_SECONDS * 2 ** (mailbox.failure_count - 1), MAX_BACKOFF_SECONDS)
    mailbox.last_error, mailbox.last_error_at, mailbox.last_polled_at = clean(error, 2000), now, now
    mailbox.next_poll_at = now + timedelta(seconds=backoff)
    mailbox.save(
        update_fields=["failure_count", "last_error", "last_error_at", "last_polled_at", "next_poll_at"]
    )
    _alert_owner(mailbox, error)


def _success(mailbox: Mailbox, *, more: bool) -> None:
    from contacts.models import Task

    now = timezone.now()
    if mailbox.alert_task_id:
        # Fixed: the owner's reminder closes itself.
        Task.objects.filter(pk=mailbox.alert_task_id, done_at__isnull=True).update(done_at=now)
    mailbox.failure_count, mailbox.last_error, mailbox.alert_task_id = 0, "", None
    mailbox.last_polled_at = mailbox.last_success_at = now
    mailbox.next_poll_at = now if more else now + timedelta(seconds=settings.MAIL_POLL_SECONDS)
    mailbox.save(
        update_fields=[
            "failure_count",
            "last_error",
            "alert_task_id",
            "last_polled_at",
            "last_success_at",
            "next_poll_at",
        ]
    )


def mailbox_poll(*, mailbox_id: int, budget: int | None = None) -> PollResult:
    """One poll of one mailbox: every folder, at most `budget` messages (MAIL_POLL_BUDGET)."""
    result = PollResult()
    mailbox = mailbox_claim(mailbox_id=mailbox_id)
    if mailbox is None:
        return result
    try:
        if mailbox.paused or not mailbox.can_read:
            return result
        kind = MAILBOX_KINDS.get(mailbox.purpose)
        if kind is None:
            _failure(
                mailbox, f"No part of this installation handles {mailbox.get_purpose_display()} mailboxes."
            )
            result.error = mailbox.last_error
            return result
        left = budget or settings.MAIL_POLL_BUDGET
        try:
            with imap_open(mailbox) as session:
                for folder in _folders(mailbox, session, kind):
                    left -= folder_sync(
                        mailbox=mailbox, folder=folder, session=session, kind=kind, budget=left, result=result
                    )
                    if left <= 0:
                        result.more = True
                        break
        except MailServerError as exc:
            _failure(mailbox, str(exc))
            result.error = str(exc)
            return result
        except Exception as exc:  # never let one mailbox's surprise take the poller down
            logger.exception("mailbox %s poll failed", mailbox.pk)
            _failure(
                mailbox,
                f"The sync stopped on an unexpected error ({type(exc).__name__}: {exc}); it will retry.",
            )
            result.error = mailbox.last_error
            return result
        _success(mailbox, more=result.more)
        result.polled = True
        return result
    finally:
        Mailbox.objects.filter(pk=mailbox.pk).update(lease_until=None)
