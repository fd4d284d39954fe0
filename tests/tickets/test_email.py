"""Inbound email (signed endpoint, threading, idempotency, new contacts) and outbound replies."""

import datetime
import hashlib
import hmac
import json
import time

import pytest
import time_machine
from django.core import mail

from contacts.models import Contact
from tickets import services
from tickets.models import Status, Ticket, TicketMessage

from .factories import ContactFactory, ticket_make

pytestmark = pytest.mark.django_db

URL = "/api/tickets/inbound-email/"
SECRET = "test-inbound-secret"


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.INBOUND_EMAIL_SECRET = SECRET


def signed_post(client, payload, *, secret=SECRET, timestamp=None, body=None):
    raw = body if body is not None else json.dumps(payload).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return client.post(
        URL,
        data=raw,
        content_type="application/json",
        HTTP_X_SIGNATURE=f"sha256={signature}",
        HTTP_X_TIMESTAMP=ts,
    )


def email(**overrides):
    payload = {
        "from": "Nora Field <nora@example.com>",
        "to": "support@cdpcrm.local",
        "subject": "My order is broken",
        "text": "The lamp arrived in pieces.",
        "html": "",
        "message-id": "<abc-1@mail.example.com>",
    }
    payload.update(overrides)
    return payload


def test_new_sender_creates_contact_and_ticket(client):
    response = signed_post(client, email())
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["created_ticket"] is True and data["duplicate"] is False
    ticket = Ticket.objects.get(pk=data["ticket"])
    contact = Contact.objects.get(email="nora@example.com")
    assert ticket.contact == contact and (contact.first_name, contact.last_name) == ("Nora", "Field")
    assert (
        ticket.subject == "My order is broken" and ticket.channel == "email" and ticket.status == Status.NEW
    )
    message = ticket.messages.get()
    assert message.author_contact == contact and message.email_message_id == "abc-1@mail.example.com"


def test_known_sender_is_matched_case_insensitively(client):
    contact = ContactFactory(email="Known@Example.com")
    response = signed_post(client, email(**{"from": "known@example.com"}))
    assert Ticket.objects.get(pk=response.json()["ticket"]).contact == contact
    assert Contact.objects.count() == 1


def test_resent_message_id_does_not_duplicate(client):
    first = signed_post(client, email())
    again = signed_post(client, email())
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["ticket"] == first.json()["ticket"]
    assert Ticket.objects.count() == 1 and TicketMessage.objects.count() == 1


def test_reply_threads_by_reference_in_subject_and_reopens(client, support_user):
    ticket = ticket_make(user=support_user, contact=ContactFactory(email="nora@example.com"))
    services.ticket_status_change(user=support_user, ticket=ticket, status=Status.PENDING)
    response = signed_post(
        client,
        email(subject=f"Re: [#{ticket.pk}] Order never arrived", **{"message-id": "<r2@mail.example.com>"}),
    )
    assert response.status_code == 201 and response.json()["created_ticket"] is False
    ticket.refresh_from_db()
    assert ticket.messages.count() == 2 and ticket.status == Status.OPEN and ticket.paused_at is None
    assert ticket.events.filter(field="status", from_value="Pending", to_value="Open", actor=None).exists()


def test_reply_threads_by_in_reply_to_our_outbound_message_id(
    client, support_user, django_capture_on_commit_callbacks
):
    ticket = ticket_make(user=support_user, contact=ContactFactory(email="nora@example.com"))
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_reply(user=support_user, ticket=ticket, body="Sorry! Sending a new one.")
    response = signed_post(
        client,
        email(
            subject="Re: lamp",
            **{"message-id": "<r3@mail.example.com>", "in-reply-to": f"<{reply.email_message_id}>"},
        ),
    )
    assert response.json()["ticket"] == ticket.pk
    response = signed_post(
        client,
        email(
            subject="again",
            **{"message-id": "<r4@mail.example.com>", "references": [f"<{reply.email_message_id}>"]},
        ),
    )
    assert response.json()["ticket"] == ticket.pk
    assert ticket.messages.count() == 4


def test_reply_to_closed_ticket_opens_a_new_one(client, support_user):
    ticket = ticket_make(user=support_user, contact=ContactFactory(email="nora@example.com"))
    services.ticket_status_change(user=support_user, ticket=ticket, status=Status.SOLVED)
    services.ticket_status_change(user=support_user, ticket=ticket, status=Status.CLOSED)
    response = signed_post(client, email(subject=f"Re: [#{ticket.pk}] Order never arrived"))
    data = response.json()
    assert data["created_ticket"] is True and data["ticket"] != ticket.pk
    assert Ticket.objects.get(pk=data["ticket"]).subject == "Re: Order never arrived"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_TIMESTAMP": str(int(time.time()))},
        {"HTTP_X_SIGNATURE": "sha256=00", "HTTP_X_TIMESTAMP": str(int(time.time()))},
    ],
)
def test_unsigned_or_badly_signed_requests_get_401_and_create_nothing(client, headers):
    response = client.post(URL, data=json.dumps(email()), content_type="application/json", **headers)
    assert response.status_code == 401
    assert "detail" in response.json()
    assert not Ticket.objects.exists() and not Contact.objects.exists()


def test_wrong_secret_and_stale_timestamp_are_refused(client):
    assert signed_post(client, email(), secret="other").status_code == 401
    assert signed_post(client, email(), timestamp=int(time.time()) - 3600).status_code == 401
    assert not Ticket.objects.exists()


def test_unconfigured_secret_answers_503(client, settings):
    settings.INBOUND_EMAIL_SECRET = ""
    assert signed_post(client, email()).status_code == 503


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (email(**{"from": "not an address"}), "from"),
        (email(**{"message-id": ""}), "message_id"),
        (email(text="", html=""), "text"),
        ({"subject": "no sender"}, "from"),
    ],
)
def test_malformed_email_gets_400_naming_the_field(client, payload, field):
    response = signed_post(client, payload)
    assert response.status_code == 400
    assert field in response.json()
    assert not Ticket.objects.exists() and not Contact.objects.exists()


def test_body_that_is_not_json_gets_400(client):
    response = signed_post(client, None, body=b"{not json")
    assert response.status_code == 400 and not Ticket.objects.exists()


def test_html_only_email_is_stored_as_text(client):
    response = signed_post(client, email(text="", html="<p>Hello <b>there</b></p>"))
    assert TicketMessage.objects.get(pk=response.json()["message"]).body == "Hello there"


def test_public_reply_emails_the_customer_with_reference_and_threading_headers(
    client, support_user, django_capture_on_commit_callbacks
):
    signed_post(client, email())
    ticket = Ticket.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_reply(user=support_user, ticket=ticket, body="A new lamp is on its way.")
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["nora@example.com"]
    assert f"[#{ticket.pk}]" in sent.subject
    assert sent.extra_headers["Message-ID"] == f"<{reply.email_message_id}>"
    assert sent.extra_headers["In-Reply-To"] == "<abc-1@mail.example.com>"
    assert "<abc-1@mail.example.com>" in sent.extra_headers["References"]
    reply.refresh_from_db()
    assert reply.email_sent_at is not None
    # Sending again (a redelivered task) does not email twice.
    assert services.message_email_send(message_id=reply.pk) is False
    assert len(mail.outbox) == 1


def test_internal_note_is_never_emailed(support_user, django_capture_on_commit_callbacks):
    ticket = ticket_make(user=support_user)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(user=support_user, ticket=ticket, body="Customer is a VIP", internal=True)
    assert mail.outbox == []


def test_a_stranger_citing_a_ticket_number_gets_a_new_ticket(client, support_user):
    ticket = ticket_make(user=support_user, contact=ContactFactory(email="nora@example.com"))
    response = signed_post(
        client, email(**{"from": "mallory@example.com", "subject": f"Re: [#{ticket.pk}] Order never arrived"})
    )
    data = response.json()
    assert data["created_ticket"] is True and data["ticket"] != ticket.pk
    assert ticket.messages.count() == 1


def test_sweep_resends_replies_whose_email_task_was_lost(support_user):
    ticket = ticket_make(user=support_user, contact=ContactFactory(email="nora@example.com"))
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        # No on-commit capture: the enqueue after commit never happens, as when the broker was down.
        reply = services.ticket_reply(user=support_user, ticket=ticket, body="Lost in transit")
    assert mail.outbox == []
    with time_machine.travel(start + datetime.timedelta(minutes=1), tick=False):
        assert services.message_emails_sweep(older_than_seconds=300) == 0
    with time_machine.travel(start + datetime.timedelta(minutes=10), tick=False):
        assert services.message_emails_sweep(older_than_seconds=300) == 1
        assert services.message_emails_sweep(older_than_seconds=300) == 0
    assert (
        len(mail.outbox) == 1 and mail.outbox[0].extra_headers["Message-ID"] == f"<{reply.email_message_id}>"
    )
