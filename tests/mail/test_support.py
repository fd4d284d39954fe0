"""Support mailboxes against real IMAP and SMTP servers: tickets from mail, reply threading, no loops."""

import email

import pytest
from django.test import override_settings

from contacts.mail import sync
from contacts.mail.models import MailMessage
from contacts.models import Contact
from tickets import services as ticket_services
from tickets.models import Team, Ticket, TicketMessage

from .conftest import mail, mailbox_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return Team.objects.create(name="Returns")


@pytest.fixture
def support_box(dovecot, support_user, team, smtp_server):
    user = dovecot.user()
    mailbox = mailbox_for(
        dovecot, user, owner=support_user, purpose="support", smtp=smtp_server, team_id=team.pk
    )
    return mailbox, user


def poll(mailbox):
    result = sync.mailbox_poll(mailbox_id=mailbox.pk)
    assert result.polled, result.error
    return result


def test_new_mail_opens_a_ticket_for_a_new_contact_with_its_attachments(support_box, team, dovecot):
    mailbox, user = support_box
    pdf = b"%PDF-1.4 receipt"
    dovecot.append(
        user,
        [
            mail(
                sender="Zoe Quinn <zoe@shopper.net>",
                to=user,
                subject="Broken zipper",
                body="The zipper broke after a day.",
                attachments=[
                    ("receipt.pdf", "application/pdf", pdf),
                    ("photo.jpg", "image/jpeg", b"\xff\xd8jpeg"),
                ],
            )
        ],
    )

    poll(mailbox)

    ticket = Ticket.objects.get()
    contact = Contact.objects.get(email="zoe@shopper.net")
    assert (ticket.subject, ticket.contact, ticket.team, ticket.channel) == (
        "Broken zipper",
        contact,
        team,
        "email",
    )
    assert contact.first_name == "Zoe" and contact.lead_source == "Support email"
    message = ticket.messages.get()
    assert message.from_customer and "zipper broke" in message.body
    attachments = list(message.mail_message.attachments.order_by("filename"))
    assert [(a.filename, a.content_type, a.size) for a in attachments] == [
        ("photo.jpg", "image/jpeg", 6),
        ("receipt.pdf", "application/pdf", len(pdf)),
    ]
    assert attachments[1].file.read() == pdf


def test_the_ticket_thread_lists_the_attachments(support_box, dovecot, support_client):
    mailbox, user = support_box
    dovecot.append(
        user,
        [mail(sender="zoe@shopper.net", to=user, attachments=[("receipt.pdf", "application/pdf", b"%PDF")])],
    )
    poll(mailbox)
    page = support_client.get(Ticket.objects.get().get_absolute_url()).content.decode()
    assert "receipt.pdf" in page and "application/pdf" in page and "/mail/attachments/" in page


@override_settings(MAIL_MAX_ATTACHMENT_BYTES=1000)
def test_an_attachment_over_the_limit_is_listed_but_not_kept(support_box, dovecot):
    mailbox, user = support_box
    dovecot.append(
        user,
        [
            mail(
                sender="zoe@shopper.net",
                to=user,
                attachments=[("big.bin", "application/octet-stream", b"x" * 5000)],
            )
        ],
    )
    poll(mailbox)
    attachment = TicketMessage.objects.get().mail_message.attachments.get()
    assert attachment.size == 5000 and not attachment.kept and "not kept" in attachment.note


def test_a_reply_threads_into_its_ticket_and_the_team_reply_goes_out_through_the_team_mailbox(
    support_box, dovecot, smtp_server, support_user, django_capture_on_commit_callbacks
):
    mailbox, user = support_box
    dovecot.append(
        user, [mail(sender="zoe@shopper.net", to=user, subject="Late parcel", message_id="<q1@shopper.net>")]
    )
    poll(mailbox)
    ticket = Ticket.objects.get()

    with django_capture_on_commit_callbacks(execute=True):  # the (eager) send task runs after the commit
        reply = ticket_services.ticket_reply(user=support_user, ticket=ticket, body="It ships today.")

    envelope = smtp_server.received[-1]
    sent = email.message_from_bytes(envelope.content)
    assert envelope.mail_from == user and envelope.rcpt_tos == ["zoe@shopper.net"]
    assert sent["Message-ID"] == f"<{reply.email_message_id}>" and sent["In-Reply-To"] == "<q1@shopper.net>"
    reply.refresh_from_db()
    assert reply.email_sent_at is not None

    dovecot.append(
        user,
        [
            mail(
                sender="zoe@shopper.net",
                to=user,
                subject="Re: Late parcel",
                in_reply_to=sent["Message-ID"],
                body="Thanks!",
            )
        ],
    )
    poll(mailbox)
    assert Ticket.objects.count() == 1
    assert list(ticket.messages.values_list("body", flat=True)) == ["Hi there", "It ships today.", "Thanks!"]


@pytest.mark.parametrize(
    ("headers", "sender", "kind"),
    [
        ({"Auto-Submitted": "auto-replied"}, "zoe@shopper.net", "automatic reply"),
        ({"Precedence": "bulk"}, "news@shop.example", "bulk mail"),
        ({"X-Auto-Response-Suppress": "All"}, "ooo@corp.example", "automatic reply"),
        ({}, "MAILER-DAEMON@mx.example", "delivery failure"),
    ],
)
def test_auto_replies_and_bounces_never_open_tickets(
    support_box, dovecot, headers, sender, kind, support_client
):
    mailbox, user = support_box
    dovecot.append(user, [mail(sender=sender, to=user, subject="Out of office", headers=headers)])
    poll(mailbox)
    assert not Ticket.objects.exists()
    stored = MailMessage.objects.get()
    assert stored.status == "ignored" and kind in stored.note
    page = support_client.get(mailbox.get_absolute_url()).content.decode()
    assert "Kept but not filed" in page and kind in page


def test_an_autoresponder_answering_our_reply_does_not_loop(
    support_box, dovecot, smtp_server, support_user, django_capture_on_commit_callbacks
):
    mailbox, user = support_box
    dovecot.append(
        user, [mail(sender="zoe@shopper.net", to=user, subject="Help", message_id="<h1@shopper.net>")]
    )
    poll(mailbox)
    ticket = Ticket.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_services.ticket_reply(user=support_user, ticket=ticket, body="On it.")
    sent_before = len(smtp_server.received)
    assert sent_before == 1
    reply_id = ticket.messages.exclude(email_message_id="h1@shopper.net").get().email_message_id

    # Zoe's autoresponder answers our reply, and a bounce of it comes back too.
    dovecot.append(
        user,
        [
            mail(
                sender="zoe@shopper.net",
                to=user,
                subject="Re: Help",
                in_reply_to=f"<{reply_id}>",
                headers={"Auto-Submitted": "auto-replied"},
            ),
            mail(
                sender="MAILER-DAEMON@mx.shopper.net", to=user, subject="Undelivered Mail Returned to Sender"
            ),
            mail(sender=user, to=user, subject="A copy of our own mail"),
        ],
    )
    poll(mailbox)

    assert ticket.messages.count() == 2 and Ticket.objects.count() == 1  # nothing filed
    assert len(smtp_server.received) == sent_before  # and nothing answered
    assert MailMessage.objects.filter(status="ignored").count() == 3


def test_a_message_already_filed_by_the_relay_webhook_is_not_filed_again(support_box, dovecot):
    mailbox, user = support_box
    ticket_services.inbound_email_receive(
        sender_email="zoe@shopper.net", subject="Via relay", text="hello", message_id="<relay1@shopper.net>"
    )
    dovecot.append(
        user,
        [mail(sender="zoe@shopper.net", to=user, subject="Via relay", message_id="<relay1@shopper.net>")],
    )
    poll(mailbox)
    assert Ticket.objects.count() == 1 and TicketMessage.objects.count() == 1
