"""Membership: full recompute (set difference), history, incremental re-checks, real-time hooks, windows."""

import datetime
import json
from types import SimpleNamespace

import pytest
import time_machine
from django.utils import timezone

from cdpcrm.celery import app as celery_app
from contacts import services as contact_services
from profiles.signals import profiles_changed
from segments import services, tasks
from segments.models import Membership, SegmentSize

from . import factories as f

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 6, 15, 12, 0, tzinfo=datetime.UTC)


def members(segment) -> set[int]:
    return set(
        Membership.objects.filter(segment=segment, exited_at__isnull=True).values_list(
            "profile_id", flat=True
        )
    )


def test_full_recompute_enters_and_exits_keeping_history():
    gold, silver = f.profile(traits={"tier": "gold"}), f.profile(traits={"tier": "silver"})
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"})

    assert services.segment_recompute(segment_id=seg.pk, now=T0) == (1, 0)
    assert members(seg) == {gold.pk}

    gold.traits = {"tier": "silver"}
    gold.save()
    silver.traits = {"tier": "gold"}
    silver.save()
    later = T0 + datetime.timedelta(hours=1)
    assert services.segment_recompute(segment_id=seg.pk, now=later) == (1, 1)
    assert members(seg) == {silver.pk}
    stay = Membership.objects.get(segment=seg, profile=gold)
    assert (stay.entered_at, stay.exited_at) == (T0, later)

    gold.traits = {"tier": "gold"}
    gold.save()
    services.segment_recompute(segment_id=seg.pk, now=later + datetime.timedelta(hours=1))
    assert Membership.objects.filter(segment=seg, profile=gold).count() == 2  # re-entry is a new stay
    seg.refresh_from_db()
    assert seg.member_count == 2
    assert SegmentSize.objects.get(segment=seg, day=T0.date()).size == 2


def test_recompute_twice_changes_nothing():
    f.profile(traits={"tier": "gold"})
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"})
    services.segment_recompute(segment_id=seg.pk, now=T0)
    assert services.segment_recompute(segment_id=seg.pk, now=T0 + datetime.timedelta(minutes=1)) == (0, 0)
    assert Membership.objects.count() == 1


def test_incremental_recheck_touches_only_the_given_profiles():
    a, b = f.profile(traits={"tier": "gold"}), f.profile(traits={"tier": "gold"})
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"})
    assert services.segment_profiles_recheck(segment_id=seg.pk, profile_ids=[a.pk], now=T0) == {a.pk}
    assert members(seg) == {a.pk}
    assert b.pk not in members(seg)


def test_profiles_changed_signal_rechecks_affected_segments():
    prof = f.profile()
    by_event = f.segment({"event": "Signed Up"})
    by_crm = f.segment({"crm": "ticket.open", "op": "eq", "value": True})
    f.event(prof, "Signed Up")
    profiles_changed.send(sender=None, profile_ids=[prof.pk])
    assert members(by_event) == {prof.pk}
    assert members(by_crm) == set()


def test_crm_change_through_contacts_services_updates_membership(django_capture_on_commit_callbacks):
    prof = f.profile(email="vip@example.com")
    contact = f.contact(email="vip@example.com")
    seg = f.segment({"crm": "contact.tag", "op": "eq", "value": "VIP"})
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_tags_set(contact=contact, user=None, tags=["VIP"])
    assert members(seg) == {prof.pk}
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_tags_set(contact=contact, user=None, tags=[])
    assert members(seg) == set()


def test_tracked_event_reaches_membership_through_the_pipeline(client, django_capture_on_commit_callbacks):
    from tests.profiles.factories import basic_auth, make_source

    _, key = make_source(name="Web")
    seg = f.segment(
        {"event": "Product Added", "where": [{"property": "category", "op": "eq", "value": "shoes"}]}
    )
    body = {"userId": "u-42", "event": "Product Added", "properties": {"category": "shoes"}}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/v1/track",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=basic_auth(key),
        )
    assert response.status_code == 200
    assert Membership.objects.filter(segment=seg, exited_at__isnull=True).count() == 1


def test_change_cascades_to_segments_that_refer_to_a_changed_segment():
    prof = f.profile(traits={"tier": "gold"})
    gold = f.segment({"trait": "tier", "op": "eq", "value": "gold"})
    gold_in_paris = f.segment(
        {"all": [{"segment": gold.pk}, {"crm": "ticket.open", "op": "eq", "value": False}]}
    )
    services.segments_profiles_recheck(profile_ids=[prof.pk], facts={"traits"}, now=T0)
    assert members(gold) == {prof.pk}
    assert members(gold_in_paris) == {prof.pk}


def test_window_expiry_is_scheduled_for_the_moment_the_event_leaves_the_window(monkeypatch):
    prof = f.profile()
    seg = f.segment({"event": "Product Added", "within": {"hours": 24}})
    f.event(prof, "Product Added", at=T0)
    scheduled = []
    # As with a broker (eager off): the service's view of the Celery app only; the real app is left alone,
    # since it reads CELERY_TASK_ALWAYS_EAGER from the Django settings first, whatever conf was given.
    monkeypatch.setattr(
        "segments.services.celery_app", SimpleNamespace(conf=SimpleNamespace(task_always_eager=False))
    )
    monkeypatch.setattr(
        tasks.segment_window_recheck_task, "apply_async", lambda args, eta: scheduled.append((args, eta))
    )

    with time_machine.travel(T0 + datetime.timedelta(hours=23, minutes=30), tick=False):
        services.segment_profiles_recheck(segment_id=seg.pk, profile_ids=[prof.pk])
    assert members(seg) == {prof.pk}
    assert scheduled == [([seg.pk, [prof.pk]], T0 + datetime.timedelta(hours=24))]

    monkeypatch.setattr("segments.services.celery_app", celery_app)
    with time_machine.travel(T0 + datetime.timedelta(hours=23, minutes=59, seconds=59), tick=False):
        tasks.segment_window_recheck_task(seg.pk, [prof.pk])
    assert members(seg) == {prof.pk}
    with time_machine.travel(T0 + datetime.timedelta(hours=24), tick=False):
        tasks.segment_window_recheck_task(seg.pk, [prof.pk])
    assert members(seg) == set()
    assert Membership.objects.get(segment=seg, profile=prof).exited_at == T0 + datetime.timedelta(hours=24)


def test_window_expiry_also_lets_people_in_when_an_excluding_event_ages_out():
    prof = f.profile()
    seg = f.segment({"not": {"event": "Order Completed", "within": {"days": 30}}})
    f.event(prof, "Order Completed", at=T0)
    services.segment_recompute(segment_id=seg.pk, now=T0 + datetime.timedelta(days=1))
    assert members(seg) == set()
    until = T0 + datetime.timedelta(days=31)
    expiries = services.window_expiries(segment=seg, now=T0 + datetime.timedelta(days=1), until=until)
    assert expiries == {T0 + datetime.timedelta(days=30): {prof.pk}}
    with time_machine.travel(T0 + datetime.timedelta(days=30), tick=False):
        services.segments_windows_due(since=T0 + datetime.timedelta(days=29))
    assert members(seg) == {prof.pk}


def test_segments_recompute_command(capsys):
    from django.core.management import call_command

    f.profile(traits={"tier": "gold"})
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"}, name="Gold")
    call_command("segments_recompute")
    assert "Gold: +1 -0" in capsys.readouterr().out
    assert len(members(seg)) == 1


def test_saving_a_segment_validates_and_computes_membership(
    marketing_user, django_capture_on_commit_callbacks
):
    from segments.rules import RuleError

    f.profile(traits={"plan": "pro"})
    with pytest.raises(RuleError):
        services.segment_save(
            user=marketing_user, name="Bad", rule={"trait": "plan", "op": "is", "value": "x"}
        )
    with django_capture_on_commit_callbacks(execute=True):
        seg = services.segment_save(
            user=marketing_user, name="Pro", rule={"trait": "plan", "op": "eq", "value": "pro"}
        )
    seg.refresh_from_db()
    assert seg.member_count == 1
    assert seg.history.count() == 1
    assert timezone.now() - seg.last_evaluated_at < datetime.timedelta(minutes=1)


def test_deal_moves_and_new_tickets_from_crm_services_update_membership(
    support_user, sales_user, django_capture_on_commit_callbacks
):
    from pipeline import services as pipeline_services
    from tickets import services as ticket_services

    prof = f.profile(email="buyer@example.com")
    contact = f.contact(email="buyer@example.com")
    hot = f.segment({"crm": "deal.stage", "op": "eq", "value": "Negotiation"})
    waiting = f.segment({"crm": "ticket.open", "op": "eq", "value": True})
    deal = f.deal(contact=contact, stage_name="Qualified")
    with django_capture_on_commit_callbacks(execute=True):
        pipeline_services.deal_move(deal=deal, stage=f.stage("Negotiation"), user=sales_user)
    assert members(hot) == {prof.pk}
    with django_capture_on_commit_callbacks(execute=True):
        ticket_services.ticket_create(user=support_user, contact=contact, subject="Where is my order?")
    assert members(waiting) == {prof.pk}
