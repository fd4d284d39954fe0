"""The journey page's per-step counts are counters kept by the transactions that move enrolments."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from profiles.models import Profile
from segments.journeys import selectors, services
from segments.journeys.counters import step_counts_reconcile
from segments.journeys.models import Enrolment, StepCount
from segments.journeys.sweeper import due_steps_process, step_counts_reconcile_all

pytestmark = pytest.mark.django_db

DEFINITION = {
    "trigger": {"type": "event", "event": "X"},
    "steps": [
        {"id": "first", "type": "wait", "duration": {"days": 1}, "next": "second"},
        {"id": "second", "type": "wait", "duration": {"days": 1}, "next": None},
    ],
    "goal": {"trait": "bought", "op": "eq", "value": True},
}


def _here(journey):
    journey.refresh_from_db()
    steps, entering = selectors.journey_diagram(journey=journey)
    return {s["id"]: s["here"] for s in steps}, entering


def _enrol(journey, n, now):
    profiles = [Profile.objects.create() for _ in range(n)]
    services.profiles_enrol(journey_id=journey.pk, refs={p.pk: "x" for p in profiles}, now=now)
    return profiles


def test_counts_follow_enrolments_through_steps_goals_and_ends(make_journey):
    journey = make_journey(DEFINITION)
    now = timezone.now()
    profiles = _enrol(journey, 5, now)
    assert _here(journey) == ({"first": 0, "second": 0}, 5)  # entering: not at a step yet
    due_steps_process(now=now)
    assert _here(journey) == ({"first": 5, "second": 0}, 0)
    Profile.objects.filter(pk=profiles[0].pk).update(traits={"bought": True})
    due_steps_process(now=now + datetime.timedelta(days=1, seconds=1))  # 4 move on, 1 converts
    assert _here(journey) == ({"first": 0, "second": 4}, 0)
    due_steps_process(now=now + datetime.timedelta(days=2, seconds=2))
    assert _here(journey) == ({"first": 0, "second": 0}, 0)
    assert Enrolment.objects.filter(journey=journey, state="completed").count() == 4


def test_a_new_version_counts_its_own_and_the_old_one_keeps_its_runners(make_journey):
    journey = make_journey(DEFINITION)
    now = timezone.now()
    _enrol(journey, 3, now)
    due_steps_process(now=now)
    old = journey.live_version
    changed = {
        **DEFINITION,
        "steps": [{**DEFINITION["steps"][0], "duration": {"days": 3}}, DEFINITION["steps"][1]],
    }
    services.journey_save(user=None, journey=journey, name=journey.name, definition=changed)
    _enrol(journey, 2, now)
    due_steps_process(now=now)
    assert _here(journey)[0] == {"first": 2, "second": 0}
    assert StepCount.objects.get(version=old, step="first").active == 3


def test_the_page_reads_counters_not_a_group_by_over_enrolments(make_journey, marketing_client):
    journey = make_journey(DEFINITION)
    now = timezone.now()
    _enrol(journey, 7, now)
    due_steps_process(now=now)
    with CaptureQueriesContext(connection) as queries:
        html = marketing_client.get(reverse("journeys:journey_detail", args=[journey.pk])).content.decode()
    assert 'data-step="first"' in html and 'data-here="7"' in html
    enrolment_table = Enrolment._meta.db_table
    assert not [q["sql"] for q in queries if "GROUP BY" in q["sql"] and enrolment_table in q["sql"]]


def test_reconcile_repairs_drift_from_deleted_profiles(make_journey):
    journey = make_journey(DEFINITION)
    now = timezone.now()
    profiles = _enrol(journey, 4, now)
    due_steps_process(now=now)
    profiles[0].delete()  # its enrolment goes with it (a cascade: no counter is told)
    assert _here(journey)[0]["first"] == 4
    assert step_counts_reconcile(version_id=journey.live_version_id) == {"first": 3}
    assert _here(journey)[0]["first"] == 3
    assert step_counts_reconcile_all() == 1
    assert _here(journey)[0]["first"] == 3


def test_a_step_that_fails_takes_its_enrolment_out_of_the_count(make_journey, monkeypatch):
    from segments.journeys import actions

    journey = make_journey(
        {
            "trigger": {"type": "event", "event": "X"},
            "steps": [
                {"id": "first", "type": "wait", "duration": {"days": 1}, "next": "tag"},
                {"id": "tag", "type": "tag", "tag": "T", "next": None},
            ],
        }
    )
    now = timezone.now()
    _enrol(journey, 2, now)
    due_steps_process(now=now)

    def boom(step, runs, now):
        raise RuntimeError("down")

    monkeypatch.setitem(actions.HANDLERS, "tag", boom)
    due_steps_process(now=now + datetime.timedelta(days=1, seconds=1))
    assert Enrolment.objects.filter(journey=journey, state="exited").count() == 2
    assert _here(journey)[0] == {"first": 0, "tag": 0}
