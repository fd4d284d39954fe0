"""Metrics selectors: first response time, resolution time and SLA attainment per team/agent/priority."""

import datetime

import pytest
import time_machine

from tickets import services
from tickets.models import SlaPolicy, Status
from tickets.selectors import ticket_metrics

from .factories import TeamFactory, ticket_make

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def at(**delta):
    return START + datetime.timedelta(**delta)


def test_metrics_per_team_agent_and_priority(support_user):
    SlaPolicy.objects.filter(priority="high").update(first_response_minutes=60, resolution_minutes=240)
    billing, returns = TeamFactory(name="Billing"), TeamFactory(name="Returns")
    with time_machine.travel(START, tick=False):
        met = ticket_make(
            user=support_user, priority="high", team=billing, assignee=support_user, status=Status.OPEN
        )
        late = ticket_make(user=support_user, priority="high", team=billing, status=Status.OPEN)
        ticket_make(user=support_user, priority="high", team=returns)  # never answered: breached by now
    with time_machine.travel(at(minutes=30), tick=False):
        services.ticket_reply(user=support_user, ticket=met, body="hi")
    with time_machine.travel(at(hours=2), tick=False):
        services.ticket_reply(user=support_user, ticket=late, body="sorry for the wait")
        services.ticket_status_change(user=support_user, ticket=met, status=Status.SOLVED)
    with time_machine.travel(at(hours=6), tick=False):
        services.ticket_status_change(user=support_user, ticket=late, status=Status.SOLVED)

    rows = {
        row.key: row
        for row in ticket_metrics(start=at(days=-1), end=at(days=1), group_by="team", now=at(hours=8))
    }
    billing_row = rows["Billing"]
    assert billing_row.tickets == 2 and billing_row.solved == 2
    assert billing_row.avg_first_response == datetime.timedelta(minutes=75)
    assert billing_row.avg_resolution == datetime.timedelta(hours=4)
    assert (billing_row.first_response_met, billing_row.first_response_breached) == (1, 1)
    assert (billing_row.resolution_met, billing_row.resolution_breached) == (1, 1)
    assert billing_row.first_response_attainment == 50.0
    returns_row = rows["Returns"]
    assert returns_row.first_response_breached == 1 and returns_row.avg_first_response is None

    by_agent = {
        row.key: row
        for row in ticket_metrics(start=at(days=-1), end=at(days=1), group_by="agent", now=at(hours=8))
    }
    assert by_agent[support_user.get_full_name()].tickets == 1 and by_agent["Unassigned"].tickets == 2
    by_priority = ticket_metrics(start=at(days=-1), end=at(days=1), group_by="priority", now=at(hours=8))
    assert [(row.key, row.tickets) for row in by_priority] == [("High", 3)]


def test_metrics_date_range_excludes_other_tickets(support_user):
    with time_machine.travel(START, tick=False):
        ticket_make(user=support_user)
    assert ticket_metrics(start=at(days=1), end=at(days=2), group_by="team", now=at(days=3)) == []
