"""Journey e-mail end to end: a template sent through the CRM's SMTP path to a real server (aiosmtpd), with a
working signed unsubscribe link and List-Unsubscribe headers; after the opt-out the next send is skipped."""

import datetime
import email
import re
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.utils import timezone

from contacts import services as contact_services
from contacts.mail.crypto import secret_encrypt
from contacts.mail.models import EmailTemplate, Mailbox, MailMessage, Unsubscribe
from contacts.models import Activity
from profiles.models import Identity, Profile
from profiles.unify.timeline import timeline_page
from segments.journeys import services
from segments.journeys.models import StepLog
from segments.journeys.sweeper import due_steps_process
from tests.mail.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(smtp_server):
    return Mailbox.objects.create(
        name="Newsletter",
        purpose=Mailbox.Purpose.SALES,
        email_address="news@shop.example",
        from_name="The Shop",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="none",
        smtp_username="news@shop.example",
        smtp_password=secret_encrypt(PASSWORD),
    )


@pytest.fixture
def template():
    return EmailTemplate.objects.create(
        name="Welcome 2",
        subject="Welcome, {{ contact.first_name }}",
        body='Hi {{ contact.first_name|default:"there" }},\n\nour new arrivals: https://shop.example/new',
    )


@pytest.fixture
def ann():
    contact = contact_services.contact_create(user=None, first_name="Ann", email="ann@customer.example")
    profile = Profile.objects.create(traits={"email": contact.email}, contact=contact)
    Identity.objects.create(profile=profile, kind="email", value=contact.email)
    return contact, profile


def _journey(make_journey, template, mailbox):
    send = {"type": "send_email", "template": template.pk, "mailbox": mailbox.pk}
    return make_journey(
        {
            "trigger": {"type": "event", "event": "Signed Up"},
            "steps": [
                {"id": "first", **send, "next": "wait"},
                {"id": "wait", "type": "wait", "duration": {"days": 2}, "next": "second"},
                {"id": "second", **send, "next": None},
            ],
        }
    )


def _sweep(captured, at):
    with captured(execute=True):
        due_steps_process(now=at)


def _path(profile):
    return list(
        StepLog.objects.filter(profile=profile).order_by("sequence").values_list("summary", flat=True)
    )


def test_a_journey_email_arrives_its_unsubscribe_link_works_and_the_next_send_is_skipped(
    make_journey,
    template,
    mailbox,
    ann,
    smtp_server,
    client,
    django_capture_on_commit_callbacks,
):
    contact, profile = ann
    journey = _journey(make_journey, template, mailbox)
    services.profiles_enrol(journey_id=journey.pk, refs={profile.pk: "signup"})
    _sweep(django_capture_on_commit_callbacks, timezone.now() + datetime.timedelta(seconds=1))

    assert len(smtp_server.received) == 1
    envelope = smtp_server.received[0]
    assert envelope.rcpt_tos == ["ann@customer.example"]
    received = email.message_from_bytes(envelope.content)
    assert received["Subject"] == "Welcome, Ann"
    text = received.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert text.startswith("Hi Ann,\n\nour new arrivals: https://shop.example/new")
    url = re.fullmatch(r"\s*<(\S+)>\s*", received["List-Unsubscribe"]).group(1)
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"unsubscribe: {url}" in text  # the same signed link in the body
    assert "Sent e-mail Welcome 2" in _path(profile)
    message = MailMessage.objects.get()
    assert message.status == MailMessage.Status.SENT and message.unsubscribe_link
    assert Activity.objects.filter(contact=contact, kind=Activity.Kind.EMAIL, subject="Welcome, Ann").exists()
    timeline = [
        item.summary for item in timeline_page(profile=profile, contact=contact, kind="journey").items
    ]
    assert "Welcome series: Sent e-mail Welcome 2" in timeline

    path = urlparse(url).path
    confirm = client.get(path)  # anonymous: the recipient has no login
    assert confirm.status_code == 200 and "ann@customer.example" in confirm.content.decode()
    assert not Unsubscribe.objects.exists()  # opening the link (or a mail scanner) unsubscribes nobody
    done = client.post(path)
    assert done.status_code == 200 and "You are unsubscribed" in done.content.decode()
    row = Unsubscribe.objects.get()
    assert (row.email, row.contact_id, row.message_id, row.source) == (
        "ann@customer.example",
        contact.pk,
        message.pk,
        "link",
    )

    _sweep(django_capture_on_commit_callbacks, timezone.now() + datetime.timedelta(days=2, seconds=5))
    assert len(smtp_server.received) == 1  # nothing more went out
    assert _path(profile)[-2:] == ["Skipped e-mail Welcome 2: unsubscribed", "Completed the journey"]
    assert MailMessage.objects.count() == 1


def test_the_contact_e_mail_panel_says_the_address_unsubscribed(ann, sales_client):
    contact, _ = ann
    panel = sales_client.get(f"/mail/contacts/{contact.pk}/").content.decode()
    assert "unsubscribed from automated e-mail" not in panel
    Unsubscribe.objects.create(email=contact.email, contact=contact, source="link")
    panel = sales_client.get(f"/mail/contacts/{contact.pk}/").content.decode()
    assert "ann@customer.example unsubscribed from automated e-mail on" in panel
    assert "(unsubscribe link)" in panel


def test_one_click_unsubscribe_and_forged_tokens(
    make_journey, template, mailbox, ann, client, django_capture_on_commit_callbacks
):
    from contacts.mail.unsubscribe import unsubscribe_token

    _, profile = ann
    journey = _journey(make_journey, template, mailbox)
    services.profiles_enrol(journey_id=journey.pk, refs={profile.pk: "signup"})
    _sweep(django_capture_on_commit_callbacks, timezone.now() + datetime.timedelta(seconds=1))
    message = MailMessage.objects.get()
    path = f"/mail/u/{unsubscribe_token(message.pk)}/"
    # A mail client's RFC 8058 one-click POST: no CSRF token, no login.
    mail_client = Client(enforce_csrf_checks=True)
    assert mail_client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert Unsubscribe.objects.get().source == "one_click"
    assert client.post(path).status_code == 200  # again: still one row
    assert Unsubscribe.objects.count() == 1
    assert client.get(f"/mail/u/{unsubscribe_token(message.pk)}x/").status_code == 404
    assert client.get(f"/mail/u/{unsubscribe_token(message.pk + 1)}/").status_code == 404


def test_a_staff_entered_opt_out_for_any_known_address_refuses_the_send(
    make_journey,
    template,
    mailbox,
    ann,
    smtp_server,
    django_capture_on_commit_callbacks,
):
    _, profile = ann
    Identity.objects.create(profile=profile, kind="email", value="ann.private@example.org")
    Unsubscribe.objects.create(email="ann.private@example.org", source="staff")
    journey = _journey(make_journey, template, mailbox)
    services.profiles_enrol(journey_id=journey.pk, refs={profile.pk: "signup"})
    _sweep(django_capture_on_commit_callbacks, timezone.now() + datetime.timedelta(seconds=1))
    assert smtp_server.received == []
    assert _path(profile)[1] == "Skipped e-mail Welcome 2: unsubscribed"


def test_a_mailbox_that_lost_its_smtp_server_skips_with_the_reason(
    make_journey, template, mailbox, ann, django_capture_on_commit_callbacks
):
    _, profile = ann
    journey = _journey(make_journey, template, mailbox)
    Mailbox.objects.filter(pk=mailbox.pk).update(smtp_host="")
    services.profiles_enrol(journey_id=journey.pk, refs={profile.pk: "signup"})
    _sweep(django_capture_on_commit_callbacks, timezone.now() + datetime.timedelta(seconds=1))
    assert _path(profile)[1] == "Skipped e-mail Welcome 2: the mailbox has no SMTP server"
    assert not MailMessage.objects.exists()


def test_staff_add_an_opt_out_in_the_admin_lower_cased(admin_client):
    response = admin_client.post(
        "/admin/mail/unsubscribe/add/", {"email": " Ann@Customer.Example ", "source": "staff", "contact": ""}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Unsubscribe.objects.get().email == "ann@customer.example"


def test_a_template_or_mailbox_a_journey_sends_with_is_not_deleted(
    make_journey, template, mailbox, admin_client
):
    _journey(make_journey, template, mailbox)
    url = f"/admin/mail/emailtemplate/{template.pk}/delete/"
    assert "Journey “Welcome series”, which sends “Welcome 2”" in admin_client.get(url).content.decode()
    admin_client.post(url, {"post": "yes"})
    assert EmailTemplate.objects.filter(pk=template.pk).exists()

    Mailbox.objects.filter(pk=mailbox.pk).update(owner=None)
    response = admin_client.post(f"/mail/mailboxes/{mailbox.pk}/delete/", follow=True)
    assert Mailbox.objects.filter(pk=mailbox.pk).exists()
    assert (
        "Newsletter sends the e-mails of Journey “Welcome series”; choose another mailbox there first."
        in response.content.decode()
    )
