"""With a real broker and worker on PostgreSQL: the beat task polls every mailbox, each in its own task."""

import time

import pytest

from contacts.mail.crypto import secret_encrypt
from contacts.mail.models import Mailbox, MailMessage
from contacts.mail.tasks import mail_message_send_task, mailboxes_poll_due_task
from contacts.models import Activity
from tests.contacts.factories import ContactFactory

from .conftest import mail, mailbox_for

pytestmark = pytest.mark.worker


def _wait(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


def test_a_worker_polls_due_mailboxes_and_a_broken_one_holds_up_nobody(
    celery_workers, dovecot, sales_user, settings
):
    celery_workers.start(queues="email", concurrency=2, name="mail-poll")
    ContactFactory(email="ann@customer.com")
    good_user, bad_user = dovecot.user(), dovecot.user()
    good = mailbox_for(dovecot, good_user, owner=sales_user, name="Good")
    bad = mailbox_for(dovecot, bad_user, owner=sales_user, name="Bad")
    Mailbox.objects.filter(pk=bad.pk).update(imap_password=secret_encrypt("wrong"))
    dovecot.append(
        good_user, [mail(sender="ann@customer.com", to=good_user, subject=f"Mail {i}") for i in range(30)]
    )

    mailboxes_poll_due_task.delay()  # what beat sends every MAIL_POLL_SECONDS

    assert _wait(lambda: MailMessage.objects.filter(mailbox=good).count() == 30), "the worker did not sync"
    assert _wait(lambda: "Authentication failed" in Mailbox.objects.get(pk=bad.pk).last_error)
    assert Activity.objects.count() == 30
    good.refresh_from_db()
    assert good.last_error == "" and good.lease_until is None

    # New mail, next beat: only the new message is fetched.
    dovecot.append(good_user, [mail(sender="ann@customer.com", to=good_user, subject="Late")])
    Mailbox.objects.filter(pk=good.pk).update(next_poll_at=good.last_polled_at)
    mailboxes_poll_due_task.delay()
    assert _wait(lambda: MailMessage.objects.filter(mailbox=good).count() == 31)
    assert MailMessage.objects.filter(subject="Late").count() == 1


def test_a_worker_delivers_a_queued_message_once(celery_workers, dovecot, smtp_server, sales_user):
    from contacts.mail.sending import message_send

    celery_workers.start(queues="email", name="mail-send")
    user = dovecot.user()
    mailbox = mailbox_for(dovecot, user, owner=sales_user, smtp=smtp_server)
    message = message_send(
        sender=sales_user,
        mailbox=mailbox,
        contact=ContactFactory(email="ann@customer.com"),
        subject="S",
        body="B",
    )
    assert _wait(lambda: MailMessage.objects.get(pk=message.pk).status == "sent")
    mail_message_send_task.delay(message.pk)  # a redelivered task
    time.sleep(2)
    assert len(smtp_server.received) == 1
