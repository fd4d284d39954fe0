"""Sending from the CRM through a real SMTP server (aiosmtpd), templates, threading and tracking into the CDP."""

import email
import re

import pytest
from django.core.exceptions import ValidationError

from contacts.mail import registry, sync
from contacts.mail.models import EmailTemplate, MailMessage, MessageLink
from contacts.mail.render import template_check
from contacts.mail.sending import message_send
from contacts.mail.services import signature_set
from contacts.models import Activity
from profiles.models import Event, Profile
from tests.contacts.factories import CompanyFactory, ContactFactory
from tests.pipeline.factories import deal_make

from .conftest import mail, mailbox_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep(sales_user):
    sales_user.first_name, sales_user.last_name = "Sam", "Seller"
    sales_user.save()
    return sales_user


@pytest.fixture
def ann():
    return ContactFactory(
        email="ann@customer.com", first_name="Ann", company=CompanyFactory(name="Customer Inc")
    )


@pytest.fixture
def box(dovecot, rep, smtp_server):
    user = dovecot.user()
    return mailbox_for(dovecot, user, owner=rep, smtp=smtp_server), user


def _parts(envelope):
    parsed = email.message_from_bytes(envelope.content)
    text = html = ""
    for part in parsed.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True).decode().replace("\r\n", "\n")
        elif part.get_content_type() == "text/html":
            html = part.get_payload(decode=True).decode()
    return parsed, text, html


def test_sending_with_a_template_renders_merge_fields_signs_logs_and_threads_the_reply(
    box, rep, ann, smtp_server, dovecot, django_capture_on_commit_callbacks
):
    mailbox, user = box
    deal = deal_make(user=rep, contact=ann, company=ann.company, title="Spring order")
    template = EmailTemplate.objects.create(
        name="Follow-up",
        subject="About {{ deal.title }}",
        body='Hi {{ contact.first_name|default:"there" }},\nhow is {{ company.name }}? {{ contact.job_title|default:"—" }}\n{{ sender.full_name }}',
    )
    signature_set(user=rep, text="Sam Seller · Ourco")

    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(
            sender=rep,
            mailbox=mailbox,
            contact=ann,
            subject=template.subject,
            body=template.body,
            deal_id=deal.pk,
            extra_fields={"deal": {"title": deal.title}},
        )

    envelope = smtp_server.received[-1]
    parsed, text, _ = _parts(envelope)
    assert envelope.mail_from == user and envelope.rcpt_tos == ["ann@customer.com"]
    assert parsed["Subject"] == "About Spring order"
    assert "Hi Ann,\nhow is Customer Inc? —\nSam Seller" in text and text.rstrip().endswith(
        "Sam Seller · Ourco"
    )
    assert parsed["Message-ID"] == f"<{message.message_id}>"
    message.refresh_from_db()
    assert message.status == "sent" and message.delivered_at is not None
    activity = Activity.objects.get(contact=ann)
    assert activity.direction == "out" and activity.subject == "About Spring order" and activity.author == rep
    assert MessageLink.objects.filter(message=message, deal_id=deal.pk).exists()

    # Ann answers; the sync threads her reply with the message sent from the CRM.
    dovecot.append(
        user,
        [
            mail(
                sender="ann@customer.com",
                to=user,
                subject="Re: About Spring order",
                in_reply_to=parsed["Message-ID"],
            )
        ],
    )
    sync.mailbox_poll(mailbox_id=mailbox.pk)
    answer = MailMessage.objects.get(direction="in")
    assert answer.thread_key == message.thread_key == message.message_id


def test_merge_fields_are_sandboxed_and_unknown_ones_are_named(box, rep, ann):
    mailbox, _ = box
    for text in (
        "{{ contact.__class__ }}",
        "{{ contact.delete }}",
        "{% load static %}",
        "{{ settings.SECRET_KEY }}",
    ):
        with pytest.raises(ValidationError) as error:
            template_check(text, field="body")
        assert "Unknown merge field" in str(error.value)
    with pytest.raises(ValidationError) as error:
        message_send(
            sender=rep, mailbox=mailbox, contact=ann, subject="Hi {{ contact.age }}", body="{{ deal.nope }}"
        )
    assert "{{ contact.age }}" in error.value.message_dict["subject"][0]
    assert "{{ deal.nope }}" in error.value.message_dict["body"][0]  # every bad field reported at once
    assert not MailMessage.objects.exists()


def test_a_send_guard_refuses_a_contact_who_must_not_get_mail(box, rep, ann, monkeypatch):
    mailbox, _ = box
    monkeypatch.setattr(
        registry, "SEND_GUARDS", [lambda *, contact, purpose: f"{contact.email} unsubscribed"]
    )
    monkeypatch.setattr("contacts.mail.sending.SEND_GUARDS", registry.SEND_GUARDS)
    with pytest.raises(ValidationError) as error:
        message_send(
            sender=rep, mailbox=mailbox, contact=ann, subject="Hi", body="Hello", purpose="marketing"
        )
    assert error.value.message_dict["to"] == ["ann@customer.com unsubscribed"]


def test_a_refused_smtp_login_marks_the_message_not_sent_with_the_server_words(
    box, rep, ann, django_capture_on_commit_callbacks
):
    from contacts.mail.crypto import secret_encrypt

    mailbox, _ = box
    mailbox.smtp_password = secret_encrypt("wrong")
    mailbox.save()
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(sender=rep, mailbox=mailbox, contact=ann, subject="Hi", body="Hello")
    message.refresh_from_db()
    assert message.status == "failed" and "refused the login: 535" in message.send_error


def test_open_and_click_tracking_reach_the_recipients_cdp_profile(
    box, rep, ann, smtp_server, client, django_capture_on_commit_callbacks
):
    mailbox, _ = box
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(
            sender=rep,
            mailbox=mailbox,
            contact=ann,
            subject="Our catalogue",
            body="See https://shop.example/spring?utm=crm and https://shop.example/faq.",
            track=True,
        )
    _, text, html = _parts(smtp_server.received[-1])
    assert "https://shop.example/spring?utm=crm" in text  # the text part keeps the real links
    pixel = re.search(r'<img src="http://[^"]+(/mail/o/[^"]+\.gif)"', html).group(1)
    clicks = re.findall(r'href="http://[^"]+(/mail/c/[^"]+/)"', html)
    assert len(clicks) == 2

    with django_capture_on_commit_callbacks(execute=True):  # the inbox batch is processed after the commit
        for _ in range(3):
            response = client.get(pixel)
            assert response.status_code == 200 and response["Content-Type"] == "image/gif"
        response = client.get(clicks[0])
    assert response.status_code == 302 and response["Location"] == "https://shop.example/spring?utm=crm"

    message.refresh_from_db()
    assert (message.open_count, message.click_count) == (3, 1) and message.last_opened_at is not None
    profile = Profile.objects.get(identities__kind="email", identities__value="ann@customer.com")
    events = list(Event.objects.filter(profile=profile).values_list("name", flat=True))
    assert sorted(events) == ["Email Link Clicked", "Email Opened", "Email Opened", "Email Opened"]
    click = Event.objects.get(name="Email Link Clicked")
    assert click.properties["link_url"] == "https://shop.example/spring?utm=crm"
    assert click.properties["email_id"] == message.message_id
    assert profile.contact_id == ann.pk  # the CDP profile is the contact's


def test_tracking_links_cannot_be_forged_or_turned_into_an_open_redirect(box, rep, ann, client):
    from contacts.mail.tracking import click_token

    mailbox, _ = box
    message = message_send(
        sender=rep, mailbox=mailbox, contact=ann, subject="S", body="https://ok.example/", track=True
    )
    token = click_token(message.pk, 0)
    assert client.get(f"/mail/c/{token}/").status_code == 302
    assert client.get(f"/mail/c/{click_token(message.pk, 7)}/").status_code == 404  # no such link in it
    assert client.get(f"/mail/c/{token[:-2]}xx/").status_code == 404  # bad signature
    assert client.get(f"/mail/c/c{message.pk}.0:forged/?next=https://evil.example/").status_code == 404
    assert client.get("/mail/o/garbage.gif").status_code == 200  # the pixel tells a prober nothing
    message.refresh_from_db()
    assert message.click_count == 1 and message.open_count == 0


def test_untracked_message_has_no_pixel_and_counts_nothing(
    box, rep, ann, smtp_server, client, django_capture_on_commit_callbacks
):
    from contacts.mail.tracking import open_token

    mailbox, _ = box
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(
            sender=rep, mailbox=mailbox, contact=ann, subject="S", body="https://ok.example/", track=False
        )
    _, _, html = _parts(smtp_server.received[-1])
    assert html == ""
    client.get(f"/mail/o/{open_token(message.pk)}.gif")
    message.refresh_from_db()
    assert message.open_count == 0 and not Event.objects.exists()
