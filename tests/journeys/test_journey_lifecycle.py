"""Journeys over time: goals and exits, versions, pause, enrolment rules, counters, the ingest path, e-mail, failures."""

import datetime
import json

import pytest
from django.utils import timezone

from contacts import services as contact_services
from contacts.models import Task
from profiles.models import Profile
from segments.journeys import services
from segments.journeys.definition import DefinitionError
from segments.journeys.models import Enrolment
from segments.journeys.sweeper import due_steps_process
from segments.journeys.triggers import events_arrived

from .test_journeys import _contact_profile, _event, _path, _run_all, _tag_journey

pytestmark = pytest.mark.django_db


def test_goal_converts_and_exit_takes_out(make_journey):
    from segments.webhooks.models import Endpoint, OutboxEvent

    Endpoint.objects.create(name="Conv", url="https://example.com/hook", topics=["journey.converted"])
    journey = make_journey(
        {
            "trigger": {"type": "event", "event": "X"},
            "steps": [{"id": "wait", "type": "wait", "duration": {"days": 7}, "next": None}],
            "goal": {"event": "Order Completed", "since_enrolment": True},
            "exit": {"trait": "unsubscribed", "op": "eq", "value": True},
        }
    )
    buyer, leaver = Profile.objects.create(), Profile.objects.create()
    services.profiles_enrol(journey_id=journey.pk, refs={buyer.pk: "a", leaver.pk: "b"})
    _run_all()
    _event(buyer, "Order Completed", at=timezone.now() + datetime.timedelta(seconds=1))
    Profile.objects.filter(pk=leaver.pk).update(traits={"unsubscribed": True})
    events_arrived(profile_ids=[buyer.pk, leaver.pk], now=timezone.now() + datetime.timedelta(seconds=2))
    assert Enrolment.objects.get(profile=buyer).state == "converted"
    assert Enrolment.objects.get(profile=leaver).state == "exited"
    assert OutboxEvent.objects.get(topic="journey.converted").payload["data"]["profile"] == buyer.pk


def test_editing_a_live_journey_publishes_a_version_and_running_profiles_stay_on_theirs(make_journey):
    definition = {
        "trigger": {"type": "event", "event": "X"},
        "steps": [
            {"id": "w", "type": "wait", "duration": {"hours": 1}, "next": "t"},
            {"id": "t", "type": "tag", "tag": "v1", "next": None},
        ],
    }
    journey = make_journey(definition)
    early = Profile.objects.create()
    now = timezone.now()
    services.profiles_enrol(journey_id=journey.pk, refs={early.pk: "a"}, now=now)
    due_steps_process(now=now)
    edited = json.loads(json.dumps(definition))
    edited["steps"][1]["tag"] = "v2"
    services.journey_save(user=None, journey=journey, name=journey.name, definition=edited)
    journey.refresh_from_db()
    assert journey.live_version.number == 2
    late = Profile.objects.create()
    services.profiles_enrol(journey_id=journey.pk, refs={late.pk: "b"}, now=now)
    due_steps_process(now=now + datetime.timedelta(hours=1, seconds=1))
    assert Enrolment.objects.get(profile=early).version.number == 1
    assert Enrolment.objects.get(profile=late).version.number == 2
    due_steps_process(now=now + datetime.timedelta(hours=2, seconds=2))
    assert "v1" in _path(early)[2] and "v2" in _path(late)[2]


def test_pause_holds_profiles_and_resume_lets_them_go_on(make_journey):
    journey = make_journey(
        {
            "trigger": {"type": "event", "event": "X"},
            "steps": [{"id": "w", "type": "wait", "duration": {"hours": 1}, "next": None}],
        }
    )
    profile = Profile.objects.create()
    now = timezone.now()
    services.profiles_enrol(journey_id=journey.pk, refs={profile.pk: "a"}, now=now)
    due_steps_process(now=now)
    services.journey_pause(journey=journey, user=None)
    assert due_steps_process(now=now + datetime.timedelta(hours=2)) == 0
    assert services.profiles_enrol(journey_id=journey.pk, refs={Profile.objects.create().pk: "b"}) == set()
    assert Enrolment.objects.get(profile=profile).step == "w"
    services.journey_resume(journey=journey, user=None)
    assert due_steps_process(now=now + datetime.timedelta(hours=2)) == 1
    assert Enrolment.objects.get(profile=profile).state == "completed"


def test_enrolment_once_or_again_after_days_and_never_twice_at_a_time(make_journey):
    once = make_journey(_tag_journey({"type": "event", "event": "X"}), name="Once")
    again = make_journey(
        {
            "trigger": {"type": "event", "event": "X"},
            "steps": [{"id": "w", "type": "wait", "duration": {"days": 1}, "next": None}],
        },
        name="Again",
        reenrol="after_days",
        reenrol_days=3,
    )
    profile = Profile.objects.create()
    now = timezone.now()
    assert services.profiles_enrol(journey_id=once.pk, refs={profile.pk: "a"}, now=now) == {profile.pk}
    assert services.profiles_enrol(journey_id=again.pk, refs={profile.pk: "a"}, now=now) == {profile.pk}
    due_steps_process(now=now)
    assert (
        services.profiles_enrol(journey_id=again.pk, refs={profile.pk: "b"}, now=now) == set()
    )  # still in it
    due_steps_process(now=now + datetime.timedelta(days=1, seconds=1))
    later = now + datetime.timedelta(days=2)
    assert (
        services.profiles_enrol(journey_id=again.pk, refs={profile.pk: "c"}, now=later) == set()
    )  # too soon
    later = now + datetime.timedelta(days=4)
    assert services.profiles_enrol(journey_id=once.pk, refs={profile.pk: "d"}, now=later) == set()
    assert services.profiles_enrol(journey_id=again.pk, refs={profile.pk: "d"}, now=later) == {profile.pk}


def test_definition_errors_name_the_step():
    with pytest.raises(DefinitionError) as error:
        services.journey_save(
            user=None,
            name="Bad",
            definition={
                "trigger": {"type": "event"},
                "steps": [
                    {"id": "a", "type": "wait", "duration": {"weeks": 1}, "next": "b"},
                    {
                        "id": "b",
                        "type": "branch",
                        "rule": {"trait": "x", "op": "zz", "value": 1},
                        "yes": "a",
                        "no": "nowhere",
                    },
                ],
            },
        )
    paths = {path for path, _ in error.value.errors}
    assert {"trigger.event", "steps[0].duration", "steps[1].rule.op", "steps[1].no"} <= paths
    assert any("loop back" in message for _, message in error.value.errors)


def test_a_wait_for_an_event_of_an_older_version_still_moves_on(make_journey):
    definition = {
        "trigger": {"type": "event", "event": "Cart Viewed"},
        "steps": [
            {
                "id": "order",
                "type": "wait_event",
                "event": "Order Completed",
                "timeout": {"days": 1},
                "next": None,
            }
        ],
    }
    journey = make_journey(definition)
    profile = Profile.objects.create()
    now = timezone.now()
    services.profiles_enrol(journey_id=journey.pk, refs={profile.pk: "a"}, now=now)
    due_steps_process(now=now)
    services.journey_save(
        user=None,
        journey=journey,
        name=journey.name,
        definition=_tag_journey({"type": "event", "event": "Cart Viewed"}),
    )
    _event(profile, "Order Completed", at=timezone.now() + datetime.timedelta(seconds=1))
    events_arrived(profile_ids=[profile.pk], now=timezone.now() + datetime.timedelta(seconds=2))
    enrolment = Enrolment.objects.get(profile=profile)
    assert enrolment.version.number == 1 and enrolment.state == "completed"


def test_day_counters_match_the_enrolments(make_journey):
    from django.db.models import Sum

    from segments.journeys.models import JourneyDay

    journey = make_journey(
        {
            "trigger": {"type": "event", "event": "X"},
            "steps": [{"id": "w", "type": "wait", "duration": {"hours": 1}, "next": None}],
            "exit": {"trait": "gone", "op": "eq", "value": True},
            "goal": {"trait": "bought", "op": "eq", "value": True},
        }
    )
    profiles = [Profile.objects.create() for _ in range(6)]
    now = timezone.now()
    services.profiles_enrol(journey_id=journey.pk, refs={p.pk: "a" for p in profiles}, now=now)
    due_steps_process(now=now)
    Profile.objects.filter(pk=profiles[0].pk).update(traits={"gone": True})
    Profile.objects.filter(pk=profiles[1].pk).update(traits={"bought": True})
    due_steps_process(now=now + datetime.timedelta(hours=1, seconds=1))
    sums = JourneyDay.objects.filter(journey=journey).aggregate(
        *(Sum(c) for c in ("entered", "completed", "converted", "exited"))
    )
    assert sums == {"entered__sum": 6, "completed__sum": 4, "converted__sum": 1, "exited__sum": 1}
    assert Enrolment.objects.filter(journey=journey, state="completed").count() == 4


def test_tracked_events_enrol_and_release_a_wait_through_the_ingest_pipeline(
    make_journey, django_capture_on_commit_callbacks
):
    """The real path: /v1 inbox batch -> processing -> profiles_changed -> the journeys task."""
    from tests.profiles.factories import make_source, store_batch, track

    journey = make_journey(
        {
            "trigger": {"type": "event", "event": "Product Added"},
            "steps": [
                {
                    "id": "order",
                    "type": "wait_event",
                    "event": "Order Completed",
                    "timeout": {"days": 1},
                    "next": None,
                }
            ],
        }
    )
    source, _ = make_source()
    with django_capture_on_commit_callbacks(execute=True):
        store_batch(source, [track(1, event="Product Added")])
    enrolment = Enrolment.objects.get(journey=journey)
    assert enrolment.step == "order" and enrolment.state == "active"
    with django_capture_on_commit_callbacks(execute=True):
        store_batch(source, [track(2, event="Order Completed", userId="user-1")])
    enrolment.refresh_from_db()
    assert enrolment.state == "completed"
    assert "“Order Completed” happened" in _path(enrolment.profile)


def test_nul_bytes_and_lone_surrogates_are_refused_where_they_are():
    definition = {
        "trigger": {"type": "event", "event": "X"},
        "steps": [
            {"id": "t", "type": "task", "title": "Call\x00now", "next": "u"},
            {"id": "u", "type": "tag", "tag": "a\ud800", "next": None},
        ],
    }
    with pytest.raises(DefinitionError) as error:
        services.journey_save(user=None, name="Bad", definition=definition)
    assert {path for path, _ in error.value.errors} == {"steps[0].title", "steps[1].tag"}


def test_a_step_that_fails_takes_only_its_enrolment_out(make_journey, monkeypatch):
    journey = make_journey(
        {
            "trigger": {"type": "event", "event": "X"},
            "steps": [{"id": "t", "type": "task", "title": "Call", "next": None}],
        }
    )
    good_contact, good = _contact_profile("good@example.com")
    bad_contact, bad = _contact_profile("bad@example.com")
    real = contact_services.task_create

    def flaky(**kwargs):
        if kwargs["contact"].pk == bad_contact.pk:
            raise RuntimeError("a bug in one step")
        return real(**kwargs)

    monkeypatch.setattr(contact_services, "task_create", flaky)
    services.profiles_enrol(journey_id=journey.pk, refs={good.pk: "a", bad.pk: "b"})
    _run_all()
    assert Enrolment.objects.get(profile=good).state == "completed"
    failed = Enrolment.objects.get(profile=bad)
    assert failed.state == "exited" and failed.end_reason == "Failed at step t: RuntimeError"
    assert _run_all() == 0  # nothing left to block the next sweep
    assert Task.objects.filter(contact=good_contact).count() == 1
