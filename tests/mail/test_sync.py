"""Sales mailbox sync against a real IMAP server (a private dovecot): UIDs, UIDVALIDITY, batches, threads."""

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.mail import sync
from contacts.mail.models import MailFolder, MailMessage, MessageLink
from contacts.models import Activity, Task
from tests.contacts.factories import CompanyFactory, ContactFactory
from tests.pipeline.factories import deal_make

from .conftest import mail, mailbox_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep(sales_user):
    sales_user.email = "sam@ourco.com"
    sales_user.save()
    return sales_user


@pytest.fixture
def ann():
    return ContactFactory(
        email="ann@customer.com", first_name="Ann", company=CompanyFactory(name="Customer Inc")
    )


def poll(mailbox, **kwargs):
    result = sync.mailbox_poll(mailbox_id=mailbox.pk, **kwargs)
    mailbox.refresh_from_db()
    return result


def test_first_sync_logs_mail_of_known_contacts_on_contact_company_and_open_deal(
    dovecot, rep, ann, sales_client
):
    deal = deal_make(user=rep, contact=ann, company=ann.company)
    user = dovecot.user()
    mailbox = mailbox_for(dovecot, user, owner=rep, internal_domains="ourco.com")
    dovecot.append(
        user,
        [
            mail(
                sender="Ann <ANN@customer.com>", to=user, subject="Quote please", body="Can you send a quote?"
            ),
            mail(sender="stranger@elsewhere.org", to=user, subject="Buy cheap watches"),
            mail(sender="colleague@ourco.com", to=user, subject="Lunch?"),
        ],
    )

    result = poll(mailbox)

    assert result.polled and result.fetched == 3 and result.stored == 1
    message = MailMessage.objects.get()
    assert message.subject == "Quote please" and message.direction == "in"
    assert message.body_text.strip() == "Can you send a quote?"
    activity = Activity.objects.get()
    assert (activity.kind, activity.contact, activity.company) == ("email", ann, ann.company)
    assert activity.direction == "in" and activity.author == rep and "quote" in activity.body
    assert MessageLink.objects.filter(message=message, deal_id=deal.pk).exists()
    # Nobody known in the stranger's mail or the colleague's: neither is stored.
    assert not MailMessage.objects.filter(subject__in=["Buy cheap watches", "Lunch?"]).exists()
    # On the unified timeline of the contact, and on the company's feed.
    timeline = sales_client.get(reverse("profiles:contact_timeline", args=[ann.pk])).content.decode()
    assert "Quote please" in timeline
    assert "Quote please" in sales_client.get(ann.company.get_absolute_url()).content.decode()


def test_internal_domains_never_count_as_participants(dovecot, rep):
    ContactFactory(email="pat@ourco.com")  # a colleague who is also a contact
    user = dovecot.user()
    mailbox = mailbox_for(dovecot, user, owner=rep, internal_domains="ourco.com")
    dovecot.append(user, [mail(sender="pat@ourco.com", to=user, subject="Internal memo")])
    poll(mailbox)
    assert not MailMessage.objects.exists() and not Activity.objects.exists()


def test_incremental_sync_fetches_only_new_messages(dovecot, rep, ann):
    user = dovecot.user()
    mailbox = mailbox_for(dovecot, user, owner=rep)
    dovecot.append(user, [mail(sender="ann@customer.com", to=user, subject="One")])
    poll(mailbox)
    inbox = mailbox.folders.get(role="inbox")
    assert inbox.last_uid == 1

    dovecot.append(user, [mail(sender="ann@customer.com", to=user, subject="Two")])
    result = poll(mailbox)

    assert result.fetched == 1  # only the new UID is read
    assert sorted(MailMessage.objects.values_list("subject", flat=True)) == ["One", "Two"]
    assert Activity.objects.count() == 2
    assert poll(mailbox).fetched == 0  # nothing new: nothing fetched, nothing stored


def test_uidvalidity_change_reads_the_folder_again_without_storing_twice(dovecot, rep, ann):
    user = dovecot.user()
    mailbox = mailbox_for(dovecot, user, owner=rep)
    dovecot.append(user, [mail(sender="ann@customer.com", to=user, subject="Before")])
    poll(mailbox)
    old = mailbox.folders.get(role="inbox").uidvalidity

    dovecot.set_uidvalidity(user, old + 1000)
    dovecot.append(user, [mail(sender="ann@customer.com", to=user, subject="After")])
    result = poll(mailbox)

    inbox = mailbox.folders.get(role="inbox")
    assert inbox.uidvalidity == old + 1000 and inbox.uidvalidity_changes == 1
    assert result.fetched == 2  # the whole folder was read again...
    assert sorted(MailMessage.objects.values_list("subject", flat=True)) == [
        "After",
        "Before",
    ]  # ...stored once
    assert Activity.objects.count() == 2


def test_sent_folder_logs_outbound_mail_to_contacts(dovecot, rep, ann):
    user = dovecot.user()
    mailbox = mailbox_for(dovecot, user, owner=rep)
    dovecot.append(user, [mail(sender=user, to="Ann <ann@customer.com>", subject="Proposal")], folder="Sent")
    poll(mailbox)
    assert set(mailbox.folders.values_list("name", "role")) == {("INBOX", "inbox"), ("Sent", "sent")}
    message = MailMessage.objects.get()
    assert message.direction == "out" and message.to == ["ann@customer.com"]
    assert Activity.objects.get().direction == "out"


def test_replies_thread_by_in_reply_to_and_references(dovecot, rep, ann):
    user = dovecot.user()
    mailbox = mailbox_for(dovecot, user, owner=rep)
    dovecot.append(
        user,
        [mail(sender=user, to="ann@customer.com", subject="Offer", message_id="<root@ourco.com>")],
        folder="Sent",
    )
    dovecot.append(
        user,
        [
            mail(
                sender="ann@customer.com",
                to=user,
                subject="Re: Offer",
                message_id="<r1@customer.com>",
                in_reply_to="<root@ourco.com>",
            ),
            mail(
                sender="ann@customer.com",
                to=user,
                subject="Re: Re: Offer",
                message_id="<r2@customer.com>",
                references="<root@ourco.com> <r1@customer.com>",
            ),
            mail(
                sender="ann@customer.com",
                to=user,
                subject="Something else",
                message_id="<other@customer.com>",
            ),
        ],
    )
    poll(mailbox)
    keys = dict(MailMessage.objects.values_list("message_id", "thread_key"))
    assert keys["r1@customer.com"] == keys["r2@customer.com"] == keys["root@ourco.com"] == "root@ourco.com"
    assert keys["other@customer.com"] == "other@customer.com"


@override_settings(MAIL_SYNC_BATCH=3)
def test_first_sync_goes_in_bounded_batches_with_progress_and_resumes(dovecot, rep, ann):
    user = dovecot.user()
    mailbox = mailbox_for(dovecot, user, owner=rep)
    dovecot.append(user, [mail(sender="ann@customer.com", to=user, subject=f"Mail {i}") for i in range(11)])

    first = poll(mailbox, budget=5)

    inbox = mailbox.folders.get(role="inbox")
    assert first.more and first.fetched == 5
    assert (inbox.backlog_done, inbox.backlog_total, inbox.progress_percent) == (5, 11, 45)
    assert MailMessage.objects.count() == 5 and inbox.last_uid == 5
    # A restart (a new task) goes on after the last stored batch.
    second = poll(mailbox, budget=5)
    third = poll(mailbox, budget=5)
    assert (second.fetched, third.fetched, third.more) == (5, 1, False)
    inbox.refresh_from_db()
    assert inbox.backlog_left == 0 and inbox.last_uid == 11
    assert MailMessage.objects.count() == 11 == Activity.objects.count()


def test_privacy_subject_only_keeps_no_body(dovecot, rep, ann):
    user = dovecot.user()
    mailbox = mailbox_for(dovecot, user, owner=rep, privacy="subject")
    dovecot.append(
        user,
        [
            mail(
                sender="ann@customer.com",
                to=user,
                subject="Salary",
                body="confidential",
                attachments=[("a.txt", "text/plain", b"x")],
            )
        ],
    )
    poll(mailbox)
    message = MailMessage.objects.get()
    assert message.subject == "Salary" and message.body_text == "" and not message.body_kept
    assert not message.attachments.exists()
    assert Activity.objects.get().body == ""


def test_paused_mailbox_is_not_polled(dovecot, rep, ann):
    from contacts.mail.services import mailbox_pause

    user = dovecot.user()
    mailbox = mailbox_for(dovecot, user, owner=rep)
    mailbox_pause(mailbox=mailbox, paused=True)
    dovecot.append(user, [mail(sender="ann@customer.com", to=user)])
    assert mailbox.pk not in sync.mailboxes_due()
    assert not poll(mailbox).polled and not MailMessage.objects.exists()


def test_broken_mailbox_shows_the_server_error_tells_the_owner_and_blocks_no_other(
    dovecot, rep, ann, settings
):
    from contacts.mail.crypto import secret_encrypt
    from contacts.mail.tasks import mailboxes_poll_due_task

    good_user, bad_user = dovecot.user(), dovecot.user()
    good = mailbox_for(dovecot, good_user, owner=rep, name="Good")
    bad = mailbox_for(dovecot, bad_user, owner=rep, name="Bad")
    bad.imap_password = secret_encrypt("wrong password")
    bad.save()
    dovecot.append(good_user, [mail(sender="ann@customer.com", to=good_user, subject="Arrives")])

    mailboxes_poll_due_task()  # eager: every due mailbox polled in turn

    bad.refresh_from_db()
    good.refresh_from_db()
    assert "refused the login" in bad.last_error and "Authentication failed" in bad.last_error
    assert bad.failure_count == 1 and bad.next_poll_at > bad.last_error_at
    task = Task.objects.get(pk=bad.alert_task_id)
    assert task.assignee == rep and "Bad" in task.title and "Authentication failed" in task.notes
    assert good.last_error == "" and MailMessage.objects.get().subject == "Arrives"

    # Fixed: the next poll succeeds and the owner's task closes itself.
    bad.imap_password = secret_encrypt("app-password-for-tests")
    bad.save()
    poll(bad)
    task.refresh_from_db()
    assert bad.last_error == "" and bad.failure_count == 0 and task.done_at is not None


def test_unreachable_server_is_reported_in_words(rep, db):
    from contacts.mail.services import mailbox_save

    from .conftest import free_port

    mailbox = mailbox_save(
        user=rep,
        name="Nowhere",
        purpose="sales",
        email_address="sam@ourco.com",
        imap_host="127.0.0.1",
        imap_port=free_port(),
        imap_security="none",
        imap_password="x",
    )
    result = poll(mailbox)
    assert "refused the connection" in result.error and mailbox.last_error == result.error


def test_folder_state_is_one_row_per_folder(dovecot, rep, ann):
    user = dovecot.user()
    mailbox = mailbox_for(dovecot, user, owner=rep)
    poll(mailbox)
    poll(mailbox)
    assert MailFolder.objects.filter(mailbox=mailbox).count() == 2


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_tls_and_starttls_connections_verify_the_certificate(dovecot, rep, ann, settings, security):
    from contacts.mail.services import mailbox_check, mailbox_save

    user = dovecot.user()
    port = dovecot.tls_port if security == "ssl" else dovecot.port
    mailbox = mailbox_for(dovecot, user, owner=rep)
    mailbox = mailbox_save(user=rep, mailbox=mailbox, imap_security=security, imap_port=port)
    dovecot.append(user, [mail(sender="ann@customer.com", to=user, subject="Over TLS")])

    settings.MAIL_TLS_CA_FILE = ""  # a self-signed certificate nobody said to trust
    line = mailbox_check(mailbox=mailbox)[0]
    assert not line.ok and "certificate is not trusted" in line.text and "self-signed" in line.text

    settings.MAIL_TLS_CA_FILE = str(dovecot.ca_file)
    assert mailbox_check(mailbox=mailbox)[0].ok
    poll(mailbox)
    assert MailMessage.objects.get().subject == "Over TLS"


def test_a_batch_costs_the_same_queries_for_5_or_60_logged_messages(dovecot, rep):
    contacts = [ContactFactory(email=f"c{i}@customer.com") for i in range(60)]
    counts = []
    for size in (5, 60):
        user = dovecot.user()
        mailbox = mailbox_for(dovecot, user, owner=rep)
        dovecot.append(user, [mail(sender=contacts[i].email, to=user, subject=f"M{i}") for i in range(size)])
        with CaptureQueriesContext(connection) as queries:
            poll(mailbox)
        counts.append(len(queries.captured_queries))
    assert MailMessage.objects.count() == 65
    assert counts[0] == counts[1]
