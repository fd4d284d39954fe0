"""The SLA clock under a frozen clock: due times, pauses, priority changes, breach and at-risk."""

import datetime
import importlib

import pytest
import time_machine

from tickets import services
from tickets.models import Priority, SlaPolicy, Status, Ticket
from tickets.sla import DEFAULT_TARGETS, breached_q, breaching_within_q

from .factories import ticket_make

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def at(**delta) -> datetime.datetime:
    return START + datetime.timedelta(**delta)


def test_migration_seeds_a_policy_for_every_priority_with_the_default_targets():
    from django.apps import apps

    seed = importlib.import_module("tickets.migrations.0002_seed_sla_policies").seed
    SlaPolicy.objects.all().delete()
    seed(apps, None)
    assert set(SlaPolicy.objects.values_list("priority", flat=True)) == set(Priority.values)
    assert {
        p.priority: (p.first_response_minutes, p.resolution_minutes) for p in SlaPolicy.objects.all()
    } == {k.value: v for k, v in DEFAULT_TARGETS.items()}


def test_missing_policy_falls_back_to_the_default_targets(support_user):
    SlaPolicy.objects.filter(priority="urgent").delete()
    with time_machine.travel(START, tick=False):
        ticket = ticket_make(user=support_user, priority="urgent")
    assert ticket.first_response_due_at == at(minutes=DEFAULT_TARGETS["urgent"][0])


def test_due_times_come_from_the_policy_of_the_priority(support_user):
    SlaPolicy.objects.filter(priority="high").update(first_response_minutes=60, resolution_minutes=600)
    with time_machine.travel(START, tick=False):
        ticket = ticket_make(user=support_user, priority="high")
    assert ticket.first_response_due_at == at(hours=1)
    assert ticket.resolution_due_at == at(hours=10)


def test_first_response_breaches_after_its_target_and_a_public_reply_stops_it(support_user):
    SlaPolicy.objects.filter(priority="urgent").update(first_response_minutes=30, resolution_minutes=240)
    with time_machine.travel(START, tick=False):
        ticket = ticket_make(user=support_user, priority="urgent")
    assert not ticket.sla_clock(at(minutes=29)).breached
    assert ticket.sla_clock(at(minutes=31)).first_response_breached

    with time_machine.travel(at(minutes=20), tick=False):
        services.ticket_reply(user=support_user, ticket=ticket, body="On it!")
    ticket.refresh_from_db()
    assert ticket.first_responded_at == at(minutes=20)
    assert not ticket.sla_clock(at(hours=2)).first_response_breached


def test_internal_note_is_not_a_first_response(support_user):
    ticket = ticket_make(user=support_user)
    services.ticket_reply(user=support_user, ticket=ticket, body="Checking with the warehouse", internal=True)
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None
    assert ticket.status == Status.NEW


def test_resolution_clock_pauses_while_pending_and_resumes_with_the_time_added(support_user):
    SlaPolicy.objects.filter(priority="normal").update(first_response_minutes=60, resolution_minutes=8 * 60)
    with time_machine.travel(START, tick=False):
        ticket = ticket_make(user=support_user, priority="normal", status=Status.OPEN)
    with time_machine.travel(at(minutes=30), tick=False):
        services.ticket_reply(user=support_user, ticket=ticket, body="Could you send a photo?")
    with time_machine.travel(at(hours=2), tick=False):
        services.ticket_status_change(user=support_user, ticket=ticket, status=Status.PENDING)
    ticket.refresh_from_db()
    assert ticket.paused_at == at(hours=2)
    # Paused for a day: nothing breaches and the remaining time stays frozen at 6 hours.
    clock = ticket.sla_clock(at(hours=26))
    assert clock.paused and not clock.resolution_breached
    assert clock.remaining == datetime.timedelta(hours=6)
    assert not Ticket.objects.filter(breached_q(now=at(hours=26))).exists()

    with time_machine.travel(at(hours=26), tick=False):
        services.ticket_status_change(user=support_user, ticket=ticket, status=Status.OPEN)
    ticket.refresh_from_db()
    assert ticket.paused_at is None
    assert ticket.paused_seconds == 24 * 3600
    assert ticket.resolution_due_at == at(hours=32)
    assert not ticket.sla_clock(at(hours=31)).resolution_breached
    assert ticket.sla_clock(at(hours=33)).resolution_breached


def test_on_hold_also_pauses_and_solving_while_paused_folds_the_pause(support_user):
    SlaPolicy.objects.filter(priority="normal").update(first_response_minutes=60, resolution_minutes=4 * 60)
    with time_machine.travel(START, tick=False):
        ticket = ticket_make(user=support_user, status=Status.OPEN)
    with time_machine.travel(at(hours=1), tick=False):
        services.ticket_status_change(user=support_user, ticket=ticket, status=Status.ON_HOLD)
    with time_machine.travel(at(hours=10), tick=False):
        services.ticket_status_change(user=support_user, ticket=ticket, status=Status.SOLVED)
    ticket.refresh_from_db()
    assert ticket.solved_at == at(hours=10)
    assert ticket.resolution_due_at == at(hours=13)  # 4 h target + 9 h on hold
    assert not ticket.sla_clock(at(hours=20)).resolution_breached


def test_priority_change_recomputes_due_times_from_creation_keeping_pauses(support_user):
    SlaPolicy.objects.filter(priority="low").update(
        first_response_minutes=24 * 60, resolution_minutes=7 * 24 * 60
    )
    SlaPolicy.objects.filter(priority="urgent").update(first_response_minutes=30, resolution_minutes=4 * 60)
    with time_machine.travel(START, tick=False):
        ticket = ticket_make(user=support_user, priority="low", status=Status.OPEN)
    with time_machine.travel(at(minutes=10), tick=False):
        services.ticket_status_change(user=support_user, ticket=ticket, status=Status.PENDING)
    with time_machine.travel(at(hours=1, minutes=10), tick=False):
        services.ticket_status_change(user=support_user, ticket=ticket, status=Status.OPEN)
    with time_machine.travel(at(hours=2), tick=False):
        ticket = services.ticket_priority_change(user=support_user, ticket=ticket, priority="urgent")
    assert ticket.first_response_due_at == at(minutes=30)
    assert ticket.resolution_due_at == at(hours=5)  # 4 h + the finished 1 h pause
    assert ticket.sla_clock(at(hours=2)).first_response_breached  # already late for the urgent target
    assert ticket.events.filter(
        field="priority", from_value="Low", to_value="Urgent", actor=support_user
    ).exists()


def test_at_risk_within_the_window_and_breaching_view_finds_it(support_user, settings):
    settings.TICKETS_SLA_AT_RISK_MINUTES = 60
    SlaPolicy.objects.filter(priority="high").update(first_response_minutes=120, resolution_minutes=24 * 60)
    with time_machine.travel(START, tick=False):
        ticket = ticket_make(user=support_user, priority="high")
    assert ticket.sla_clock(at(minutes=30)).state == "running"
    assert ticket.sla_clock(at(minutes=70)).state == "at_risk"
    assert ticket.sla_clock(at(minutes=121)).state == "breached"
    assert list(
        Ticket.objects.filter(breaching_within_q(now=at(minutes=70), window=datetime.timedelta(hours=1)))
    ) == [ticket]
    assert not Ticket.objects.filter(
        breaching_within_q(now=at(minutes=30), window=datetime.timedelta(hours=1))
    ).exists()
    assert list(Ticket.objects.filter(breached_q(now=at(minutes=121)))) == [ticket]


def test_solved_ticket_no_longer_counts_as_breached_in_queues(support_user):
    with time_machine.travel(START, tick=False):
        ticket = ticket_make(user=support_user, priority="urgent", status=Status.OPEN)
    later = at(days=2)
    assert Ticket.objects.filter(breached_q(now=later)).exists()
    with time_machine.travel(later, tick=False):
        services.ticket_status_change(user=support_user, ticket=ticket, status=Status.SOLVED)
    assert not Ticket.objects.filter(breached_q(now=later)).exists()
    ticket.refresh_from_db()
    assert ticket.sla_clock(later).resolution_breached  # history keeps the breach


def test_reopening_a_solved_ticket_clears_solved_at(support_user):
    ticket = ticket_make(user=support_user, status=Status.OPEN)
    services.ticket_status_change(user=support_user, ticket=ticket, status=Status.SOLVED)
    services.ticket_status_change(user=support_user, ticket=ticket, status=Status.OPEN)
    ticket.refresh_from_db()
    assert ticket.solved_at is None and ticket.status == Status.OPEN


def test_late_first_response_keeps_the_ticket_in_breached_until_solved(support_user):
    with time_machine.travel(START, tick=False):
        ticket = ticket_make(user=support_user, priority="urgent")  # 30 min first response
    with time_machine.travel(at(hours=1), tick=False):
        services.ticket_reply(user=support_user, ticket=ticket, body="Sorry for the wait")
        services.ticket_status_change(user=support_user, ticket=ticket, status=Status.PENDING)
    ticket.refresh_from_db()
    assert ticket.sla_clock(at(hours=1)).state == "breached"
    assert list(Ticket.objects.filter(breached_q(now=at(hours=1)))) == [ticket]
