"""With a real broker: a public reply is emailed by a worker that consumes only the "email" queue."""

import time

import pytest

from tickets import services
from tickets.models import TicketMessage

from .factories import ContactFactory, ticket_make

pytestmark = pytest.mark.worker


def test_public_reply_is_sent_by_a_worker_on_the_email_queue(celery_workers, support_user):
    celery_workers.start(queues="email", name="tickets-email")
    ticket = ticket_make(user=support_user, contact=ContactFactory(email="nora@example.com"))
    reply = services.ticket_reply(user=support_user, ticket=ticket, body="Your parcel ships today.")
    note = services.ticket_reply(user=support_user, ticket=ticket, body="internal", internal=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if TicketMessage.objects.get(pk=reply.pk).email_sent_at is not None:
            break
        time.sleep(0.2)
    assert TicketMessage.objects.get(pk=reply.pk).email_sent_at is not None, "the email worker sent nothing"
    assert TicketMessage.objects.get(pk=note.pk).email_sent_at is None
