"""Journeys end to end on the services: every trigger, step and action (goals, versions and the rest in test_journey_lifecycle.py)."""

import datetime

import pytest
from django.utils import timezone

from contacts import services as contact_services
from contacts.models import Task
from pipeline import services as deal_services
from pipeline.models import Stage
from profiles.models import Event, Identity, Profile, Source
from segments import services as segment_services
from segments.journeys import services
from segments.journeys.definition import DefinitionError
from segments.journeys.engine import next_time_of_day
from segments.journeys.models import Enrolment, StepLog
from segments.journeys.sweeper import due_steps_process
from segments.journeys.triggers import events_arrived
from segments.models import Segment
from tickets import services as ticket_services

pytestmark = pytest.mark.django_db


def _path(profile):
    return list(
        StepLog.objects.filter(profile=profile)
        .order_by("enrolment_id", "sequence")
        .values_list("summary", flat=True)
    )


def _contact_profile(email="ann@example.com", **fields):
    contact = contact_services.contact_create(user=None, first_name="Ann", email=email, **fields)
    profile = Profile.objects.create(traits={"email": email}, contact=contact)
    Identity.objects.create(profile=profile, kind="email", value=email)
    return contact, profile


def _event(profile, name, at=None, **properties):
    source = Source.objects.first() or Source.objects.create(name="Web")
    at = at or timezone.now()
    return Event.objects.create(
        source=source,
        profile=profile,
        message_id=f"m{Event.objects.count()}",
        type="track",
        name=name,
        timestamp=at,
        received_at=at,
        properties=properties,
    )


def _tag_journey(trigger, name="J"):
    return {"trigger": trigger, "steps": [{"id": "tag", "type": "tag", "tag": "entered", "next": None}]}


def _run_all():
    return due_steps_process(now=timezone.now() + datetime.timedelta(seconds=1))


# --- triggers -----------------------------------------------------------------------------------------------


def test_segment_entry_and_exit_triggers(make_journey):
    segment = Segment.objects.create(name="Gold", rule={"trait": "tier", "op": "eq", "value": "gold"})
    entered = make_journey(_tag_journey({"type": "segment_entered", "segment": segment.pk}), name="In")
    left = make_journey(_tag_journey({"type": "segment_exited", "segment": segment.pk}), name="Out")
    profile = Profile.objects.create(traits={"tier": "gold"})
    segment_services.segment_profiles_recheck(segment_id=segment.pk, profile_ids=[profile.pk])
    assert Enrolment.objects.filter(journey=entered, profile=profile).exists()
    Profile.objects.filter(pk=profile.pk).update(traits={"tier": "silver"})
    segment_services.segment_profiles_recheck(segment_id=segment.pk, profile_ids=[profile.pk])
    assert Enrolment.objects.filter(journey=left, profile=profile).exists()


def test_event_trigger_with_property_conditions(make_journey):
    journey = make_journey(
        _tag_journey(
            {
                "type": "event",
                "event": "Product Added",
                "where": [{"property": "category", "op": "eq", "value": "shoes"}],
            }
        )
    )
    shoes, hats = Profile.objects.create(), Profile.objects.create()
    _event(shoes, "Product Added", category="shoes")
    _event(hats, "Product Added", category="hats")
    events_arrived(profile_ids=[shoes.pk, hats.pk])
    assert list(Enrolment.objects.filter(journey=journey).values_list("profile_id", flat=True)) == [shoes.pk]
    events_arrived(profile_ids=[shoes.pk])  # the same event again: nothing new
    assert Enrolment.objects.filter(journey=journey).count() == 1


@pytest.mark.parametrize(
    "trigger, change",
    [
        ({"type": "crm", "change": "contact.created"}, "create"),
        ({"type": "crm", "change": "contact.lifecycle_changed", "to": "customer"}, "lifecycle"),
        ({"type": "crm", "change": "contact.field_changed", "field": "job_title"}, "job"),
        ({"type": "crm", "change": "deal.stage_changed", "to": "Proposal"}, "deal_stage"),
        ({"type": "crm", "change": "deal.won"}, "deal_won"),
        ({"type": "crm", "change": "deal.lost"}, "deal_lost"),
        ({"type": "crm", "change": "ticket.created"}, "ticket"),
        ({"type": "crm", "change": "ticket.solved"}, "ticket_solved"),
        ({"type": "crm", "change": "loyalty.tier_changed", "to": "gold"}, "tier"),
    ],
)
def test_crm_change_triggers(make_journey, trigger, change, sales_user):
    journey = make_journey(_tag_journey(trigger))
    if change == "create":
        contact = contact_services.contact_create(user=None, first_name="New", email="new@example.com")
    else:
        contact, _ = _contact_profile()
        assert not Enrolment.objects.exists()
        if change == "lifecycle":
            contact_services.contact_update(contact=contact, user=None, lifecycle_stage="mql")
            assert not Enrolment.objects.exists()  # narrowed to "customer"
            contact_services.contact_update(contact=contact, user=None, lifecycle_stage="customer")
        elif change == "job":
            contact_services.contact_update(contact=contact, user=None, job_title="CEO")
        elif change.startswith("deal"):
            deal = deal_services.deal_create(user=sales_user, title="D", contact=contact)
            kind = {"deal_stage": None, "deal_won": "won", "deal_lost": "lost"}[change]
            stage = (
                Stage.objects.get(pipeline=deal.pipeline, name="Proposal")
                if kind is None
                else Stage.objects.get(pipeline=deal.pipeline, kind=kind)
            )
            deal_services.deal_move(
                deal=deal, stage=stage, user=sales_user, lost_reason="price" if kind == "lost" else ""
            )
        elif change.startswith("ticket"):
            ticket = ticket_services.ticket_create(user=None, contact=contact, subject="Help")
            if change == "ticket_solved":
                assert not Enrolment.objects.exists()
                ticket_services.ticket_status_change(user=None, ticket=ticket, status="solved")
        elif change == "tier":
            account = contact_services.loyalty_enroll(contact=contact, user=None)
            contact_services.loyalty_tier_change(account=account, user=None, tier="gold")
    enrolment = Enrolment.objects.get(journey=journey)
    assert enrolment.profile.contact_id == contact.pk


def test_a_trigger_condition_keeps_others_out(make_journey):
    journey = make_journey(
        {
            "trigger": {
                "type": "crm",
                "change": "ticket.created",
                "if": {"crm": "loyalty.tier", "op": "in", "value": ["gold", "platinum"]},
            },
            "steps": [
                {"id": "task", "type": "task", "title": "VIP ticket: call them", "due_hours": 2, "next": None}
            ],
        }
    )
    vip, _ = _contact_profile("vip@example.com")
    contact_services.loyalty_enroll(contact=vip, user=None, tier="gold")
    plain, _ = _contact_profile("plain@example.com")
    ticket_services.ticket_create(user=None, contact=vip, subject="Broken")
    ticket_services.ticket_create(user=None, contact=plain, subject="Broken")
    assert Enrolment.objects.filter(journey=journey).count() == 1
    _run_all()
    assert Task.objects.get().title == "VIP ticket: call them" and Task.objects.get().contact == vip


# --- steps ----------------------------------------------------------------------------------------------


def test_wait_for_an_event_moves_on_when_it_happens_or_times_out(make_journey):
    journey = make_journey(
        {
            "trigger": {"type": "event", "event": "Cart Viewed"},
            "steps": [
                {
                    "id": "order",
                    "type": "wait_event",
                    "event": "Order Completed",
                    "timeout": {"days": 1},
                    "next": "thanks",
                    "timeout_next": "nudge",
                },
                {"id": "thanks", "type": "tag", "tag": "bought", "next": None},
                {"id": "nudge", "type": "tag", "tag": "nudged", "next": None},
            ],
        }
    )
    buyer, browser = Profile.objects.create(), Profile.objects.create()
    now = timezone.now()
    services.profiles_enrol(journey_id=journey.pk, refs={buyer.pk: "a", browser.pk: "b"}, now=now)
    due_steps_process(now=now)
    _event(buyer, "Order Completed", at=timezone.now() + datetime.timedelta(seconds=1))
    events_arrived(profile_ids=[buyer.pk, browser.pk], now=timezone.now() + datetime.timedelta(seconds=2))
    assert _path(buyer)[1] == "“Order Completed” happened"
    assert Enrolment.objects.get(profile=buyer).state == "completed"
    assert Enrolment.objects.get(profile=browser).step == "order"
    due_steps_process(now=now + datetime.timedelta(days=1, seconds=1))
    assert _path(browser)[1] == "No “Order Completed” within 1 days"
    assert "nudged" in _path(browser)[2]


def test_wait_until_a_time_of_day_in_the_profiles_time_zone():
    now = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=datetime.UTC)  # a Monday
    import zoneinfo

    tokyo = next_time_of_day(now=now, time="09:00", weekdays=None, zone=zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert tokyo == datetime.datetime(2026, 3, 3, 0, 0, tzinfo=datetime.UTC)  # 09:00 Tuesday in Tokyo
    friday = next_time_of_day(now=now, time="09:00", weekdays=[4], zone=datetime.UTC)
    assert friday == datetime.datetime(2026, 3, 6, 9, 0, tzinfo=datetime.UTC)


def test_wait_until_uses_the_timezone_trait(make_journey):
    journey = make_journey(
        {
            "trigger": {"type": "event", "event": "X"},
            "steps": [{"id": "nine", "type": "wait_until", "time": "09:00", "next": None}],
        }
    )
    profile = Profile.objects.create(traits={"timezone": "America/New_York"})
    now = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)  # 08:00 in New York
    services.profiles_enrol(journey_id=journey.pk, refs={profile.pk: "x"}, now=now)
    due_steps_process(now=now)
    assert Enrolment.objects.get().due_at == datetime.datetime(2026, 6, 1, 13, 0, tzinfo=datetime.UTC)


def test_random_split_sends_about_the_percentages(make_journey):
    journey = make_journey(
        {
            "trigger": {"type": "event", "event": "X"},
            "steps": [
                {
                    "id": "ab",
                    "type": "split",
                    "paths": [{"percent": 20, "next": "a"}, {"percent": 80, "next": None}],
                },
                {"id": "a", "type": "tag", "tag": "variant-a", "next": None},
            ],
        }
    )
    profiles = [Profile.objects.create() for _ in range(200)]
    services.profiles_enrol(journey_id=journey.pk, refs={p.pk: "x" for p in profiles})
    _run_all()
    a = StepLog.objects.filter(summary="Random split: path A").count()
    assert 20 <= a <= 60 and StepLog.objects.filter(summary__startswith="Random split").count() == 200


def test_branch_on_events_since_enrolment(make_journey):
    journey = make_journey(
        {
            "trigger": {"type": "event", "event": "Cart Viewed"},
            "steps": [
                {"id": "wait", "type": "wait", "duration": {"hours": 1}, "next": "bought"},
                {
                    "id": "bought",
                    "type": "branch",
                    "rule": {"event": "Order Completed", "since_enrolment": True},
                    "yes": None,
                    "no": "remind",
                },
                {"id": "remind", "type": "tag", "tag": "remind", "next": None},
            ],
        }
    )
    old_buyer, new_buyer = Profile.objects.create(), Profile.objects.create()
    now = timezone.now()
    _event(old_buyer, "Order Completed", at=now - datetime.timedelta(days=3))  # before the enrolment
    services.profiles_enrol(journey_id=journey.pk, refs={old_buyer.pk: "a", new_buyer.pk: "b"}, now=now)
    due_steps_process(now=now)
    _event(new_buyer, "Order Completed", at=now + datetime.timedelta(minutes=10))
    due_steps_process(now=now + datetime.timedelta(hours=1, seconds=1))
    assert _path(new_buyer)[2] == "Branch on a condition: yes"
    assert _path(old_buyer)[2] == "Branch on a condition: no"


def test_crm_actions_task_field_tag_points(make_journey):
    journey = make_journey(
        {
            "trigger": {"type": "event", "event": "X"},
            "steps": [
                {"id": "t", "type": "task", "title": "Call", "next": "f"},
                {
                    "id": "f",
                    "type": "set_field",
                    "field": "lifecycle_stage",
                    "value": "customer",
                    "next": "g",
                },
                {"id": "g", "type": "tag", "tag": "VIP", "next": "p"},
                {"id": "p", "type": "loyalty_points", "points": 50, "reason": "Welcome bonus", "next": "m"},
                {"id": "m", "type": "loyalty_points", "points": -500, "next": None},
            ],
        }
    )
    contact, profile = _contact_profile(owner=None)
    account = contact_services.loyalty_enroll(contact=contact, user=None)
    services.profiles_enrol(journey_id=journey.pk, refs={profile.pk: "x"})
    _run_all()
    contact.refresh_from_db()
    account.refresh_from_db()
    assert Task.objects.get().title == "Call"
    assert contact.lifecycle_stage == "customer" and list(contact.tags.values_list("name", flat=True)) == [
        "VIP"
    ]
    assert account.points_balance == 50
    assert "Not enough points" in _path(profile)[-2]  # -500 is refused, recorded as skipped
    assert StepLog.objects.filter(profile=profile, kind="skipped").count() == 1


def test_enrol_in_another_journey_and_webhook_and_audience_steps(make_journey, settings):
    from segments.audiences.models import AudienceDestination, AudienceMember
    from segments.webhooks.models import Endpoint, OutboxEvent

    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    second = make_journey(_tag_journey({"type": "event", "event": "never"}), name="Second")
    endpoint = Endpoint.objects.create(name="Hook", url="http://127.0.0.1:9/x", topics=[])
    audience = AudienceDestination.objects.create(name="Ads", kind="webhook", url="http://127.0.0.1:9/a")
    first = make_journey(
        {
            "trigger": {"type": "event", "event": "X"},
            "steps": [
                {"id": "e", "type": "enrol", "journey": second.pk, "next": "w"},
                {"id": "w", "type": "webhook", "endpoint": endpoint.pk, "next": "a"},
                {"id": "a", "type": "audience", "destination": audience.pk, "action": "add", "next": None},
            ],
        },
        name="First",
    )
    profile = Profile.objects.create()
    services.profiles_enrol(journey_id=first.pk, refs={profile.pk: "x"})
    _run_all()
    assert Enrolment.objects.filter(journey=second, profile=profile).exists()
    event = OutboxEvent.objects.get(topic="journey.step")
    assert event.payload["data"]["profile_id"] == profile.pk
    assert AudienceMember.objects.get(destination=audience, profile=profile).wanted


def test_send_email_needs_an_existing_template_and_a_mailbox_that_can_send(make_journey):
    with pytest.raises(DefinitionError) as error:
        make_journey(
            {
                "trigger": {"type": "event", "event": "X"},
                "steps": [{"id": "m", "type": "send_email", "template": 1, "mailbox": 1, "next": None}],
            }
        )
    assert {path for path, _ in error.value.errors} == {"steps[0].template", "steps[0].mailbox"}


# --- goal, exit, versions, pause, re-entry ---------------------------------------------------------------
