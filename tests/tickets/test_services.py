"""Ticket services: audit trail, rules on status changes, agents only, bulk all-or-nothing, CRM announcements."""

import pytest
from django.core.exceptions import ValidationError

from contacts.signals import crm_changed
from tickets import services
from tickets.models import Status, Ticket

from .factories import ContactFactory, ticket_make

pytestmark = pytest.mark.django_db


def test_every_change_is_recorded_with_actor_from_and_to(support_user):
    ticket = ticket_make(user=support_user)
    services.ticket_assign(user=support_user, ticket=ticket, assignee=support_user)
    services.ticket_priority_change(user=support_user, ticket=ticket, priority="high")
    services.ticket_status_change(user=support_user, ticket=ticket, status=Status.PENDING)
    rows = list(ticket.events.order_by("id").values_list("field", "from_value", "to_value", "actor"))
    name = support_user.get_full_name()
    assert rows == [
        ("created", "", "New", support_user.pk),
        ("assignee", "Unassigned", name, support_user.pk),
        ("status", "New", "Open", support_user.pk),
        ("priority", "Normal", "High", support_user.pk),
        ("status", "Open", "Pending", support_user.pk),
    ]


def test_closed_tickets_are_final_and_only_solved_tickets_close(support_user):
    ticket = ticket_make(user=support_user, status=Status.OPEN)
    with pytest.raises(ValidationError, match="Solve the ticket"):
        services.ticket_status_change(user=support_user, ticket=ticket, status=Status.CLOSED)
    services.ticket_status_change(user=support_user, ticket=ticket, status=Status.SOLVED)
    services.ticket_status_change(user=support_user, ticket=ticket, status=Status.CLOSED)
    with pytest.raises(ValidationError):
        services.ticket_status_change(user=support_user, ticket=ticket, status=Status.OPEN)
    with pytest.raises(ValidationError):
        services.ticket_reply(user=support_user, ticket=ticket, body="hello?")


def test_only_agents_can_be_assigned(support_user, sales_user):
    ticket = ticket_make(user=support_user)
    with pytest.raises(ValidationError, match="not a support agent"):
        services.ticket_assign(user=support_user, ticket=ticket, assignee=sales_user)


def test_bulk_update_is_all_or_nothing(support_user):
    solved = ticket_make(user=support_user, status=Status.OPEN)
    services.ticket_status_change(user=support_user, ticket=solved, status=Status.SOLVED)
    fresh = ticket_make(user=support_user)
    with pytest.raises(ValidationError):
        services.ticket_bulk_update(user=support_user, ticket_ids=[solved.pk, fresh.pk], status=Status.CLOSED)
    assert Ticket.objects.get(pk=solved.pk).status == Status.SOLVED
    assert Ticket.objects.get(pk=fresh.pk).status == Status.NEW


def test_satisfaction_only_for_solved_tickets_and_1_to_5(support_user):
    ticket = ticket_make(user=support_user, status=Status.OPEN)
    with pytest.raises(ValidationError):
        services.ticket_satisfaction_set(user=support_user, ticket=ticket, rating=5)
    services.ticket_status_change(user=support_user, ticket=ticket, status=Status.SOLVED)
    with pytest.raises(ValidationError):
        services.ticket_satisfaction_set(user=support_user, ticket=ticket, rating=6)
    ticket = services.ticket_satisfaction_set(user=support_user, ticket=ticket, rating=4, comment=" Quick! ")
    assert (ticket.satisfaction_rating, ticket.satisfaction_comment) == (4, "Quick!")


def test_create_status_and_priority_changes_announce_the_contact_after_commit(
    support_user, django_capture_on_commit_callbacks
):
    received = []

    def listener(sender, contact_ids, fact, **kwargs):
        received.append((tuple(contact_ids), fact))

    crm_changed.connect(listener)
    try:
        contact = ContactFactory()
        with django_capture_on_commit_callbacks(execute=True):
            ticket = ticket_make(user=support_user, contact=contact)
        with django_capture_on_commit_callbacks(execute=True):
            services.ticket_status_change(user=support_user, ticket=ticket, status=Status.OPEN)
        with django_capture_on_commit_callbacks(execute=True):
            services.ticket_priority_change(user=support_user, ticket=ticket, priority="urgent")
    finally:
        crm_changed.disconnect(listener)
    assert received.count(((contact.pk,), "ticket")) == 3


def test_create_validates_subject_and_choices(support_user):
    with pytest.raises(ValidationError, match="subject"):
        ticket_make(user=support_user, subject="  ")
    with pytest.raises(ValidationError):
        ticket_make(user=support_user, priority="mega")
    assert not Ticket.objects.exists()
