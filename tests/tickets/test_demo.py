"""Demo data: tickets across statuses, priorities and channels, with threads, some breached; idempotent."""

import io

import pytest
from django.utils import timezone

from cdpcrm.demo import demo_users_ensure
from tickets.demo import TICKET_COUNT, demo_load
from tickets.models import Ticket, TicketMessage
from tickets.sla import breached_q

pytestmark = pytest.mark.django_db


def test_demo_covers_the_ticket_space_and_runs_twice_without_duplicates(django_assert_max_num_queries):
    users = demo_users_ensure()
    with django_assert_max_num_queries(200):
        demo_load(users=users, stdout=io.StringIO())
    assert Ticket.objects.count() == TICKET_COUNT
    assert set(Ticket.objects.values_list("status", flat=True)) == {
        "new",
        "open",
        "pending",
        "on_hold",
        "solved",
        "closed",
    }
    assert set(Ticket.objects.values_list("priority", flat=True)) == {"low", "normal", "high", "urgent"}
    assert len(set(Ticket.objects.values_list("channel", flat=True))) >= 5
    assert TicketMessage.objects.filter(internal=True).exists()
    assert TicketMessage.objects.filter(internal=False, author_user__isnull=False).exists()
    assert Ticket.objects.filter(breached_q(now=timezone.now())).exists()
    assert set(Ticket.objects.exclude(assignee=None).values_list("assignee__username", flat=True)) == {
        "support",
        "support2",
    }
    messages = TicketMessage.objects.count()
    out = io.StringIO()
    demo_load(users=users, stdout=out)
    assert Ticket.objects.count() == TICKET_COUNT and TicketMessage.objects.count() == messages
    assert "already present" in out.getvalue()
