"""The demo ships two live journeys with profiles in them: abandoned cart (wait 1 h -> branch on an order ->
tag, e-mail, webhook) and VIP ticket (a call task for the owner)."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from contacts.models import Task
from segments.journeys import selectors
from segments.journeys.models import Journey, StepLog
from segments.journeys.sweeper import due_steps_process

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_ships_two_live_journeys_with_profiles_moving_through_them():
    call_command("demo", stdout=io.StringIO())
    live = Journey.objects.filter(status=Journey.Status.LIVE).select_related("live_version")
    assert {j.name for j in live} == {"Abandoned cart", "VIP ticket"}

    cart = live.get(name="Abandoned cart")
    steps, _ = selectors.journey_diagram(journey=cart)
    waiting = {s["id"]: s["here"] for s in steps}["wait"]
    assert waiting > 0
    assert [s["type"] for s in steps] == ["wait", "branch", "tag", "send_email", "webhook"]
    vip_task = Task.objects.get(title="VIP opened a ticket: call within 2 hours")
    assert vip_task.assignee_id == vip_task.contact.owner_id

    due_steps_process(now=timezone.now() + datetime.timedelta(hours=1, seconds=5))
    lines = set(StepLog.objects.filter(journey=cart).values_list("summary", flat=True))
    assert "Added tag “Cart reminder”" in lines
    assert (
        "Skipped e-mail Your cart is waiting: the mailbox is a demo mailbox (no real server); connect a mailbox "
        "and choose it in the step"
    ) in lines

    call_command("demo", stdout=io.StringIO())  # a second run adds no journeys
    assert Journey.objects.count() == 2
