"""Enrolment and the due-step sweeper: waits, branches, splits, goal and exit, versions, pause, re-entry."""

import datetime

import pytest
from django.utils import timezone

from profiles.models import Profile
from segments.journeys import services
from segments.journeys.models import Enrolment, StepLog
from segments.journeys.sweeper import due_steps_process

pytestmark = pytest.mark.django_db

WAIT_THEN_TAG = {
    "trigger": {"type": "event", "event": "Signed Up"},
    "steps": [
        {"id": "wait", "type": "wait", "duration": {"days": 2}, "next": "vip"},
        {
            "id": "vip",
            "type": "branch",
            "rule": {"trait": "plan", "op": "eq", "value": "pro"},
            "yes": "tag",
            "no": None,
        },
        {"id": "tag", "type": "tag", "tag": "pro-welcome", "next": None},
    ],
}


def _enrol(journey, *profiles, now=None):
    return services.profiles_enrol(
        journey_id=journey.pk, refs={p.pk: f"test:{p.pk}:{now}" for p in profiles}, now=now or timezone.now()
    )


def _path(profile):
    return list(
        StepLog.objects.filter(profile=profile).order_by("sequence").values_list("summary", flat=True)
    )


def test_a_profile_waits_then_branches_and_completes(make_journey):
    journey = make_journey(WAIT_THEN_TAG)
    pro, free = (
        Profile.objects.create(traits={"plan": "pro"}),
        Profile.objects.create(traits={"plan": "free"}),
    )
    now = timezone.now()
    assert _enrol(journey, pro, free, now=now) == {pro.pk, free.pk}
    due_steps_process(now=now)
    waiting = Enrolment.objects.get(profile=pro)
    assert waiting.step == "wait" and waiting.due_at == now + datetime.timedelta(days=2)
    assert due_steps_process(now=now + datetime.timedelta(days=1)) == 0  # not due yet
    due_steps_process(now=now + datetime.timedelta(days=2, seconds=1))
    assert _path(free) == [
        "Entered Welcome series",
        "Waited 2 days",
        "Branch on a condition: no",
        "Completed the journey",
    ]
    assert _path(pro)[2] == "Branch on a condition: yes"
    done = Enrolment.objects.get(profile=pro)
    assert done.state == "completed" and done.due_at is None
    # The tag step has no contact to tag: it is skipped with the reason, and the journey goes on.
    assert "not linked to a CRM contact" in _path(pro)[3]


def test_running_a_due_step_twice_changes_nothing(make_journey):
    journey = make_journey(WAIT_THEN_TAG)
    profile = Profile.objects.create(traits={})
    now = timezone.now()
    _enrol(journey, profile, now=now)
    assert due_steps_process(now=now) == 1
    assert due_steps_process(now=now) == 0
    assert StepLog.objects.filter(profile=profile).count() == 1


def test_the_embedded_periodic_runner_runs_due_steps(make_journey):
    """Without a broker, `manage.py periodic` runs the beat schedule in-process, journeys-due included."""
    from django.core.management import call_command

    journey = make_journey(WAIT_THEN_TAG)
    profile = Profile.objects.create()
    Enrolment.objects.create(
        journey=journey,
        version=journey.live_version,
        profile=profile,
        trigger_ref="t",
        step="wait",
        steps_taken=1,
        step_started_at=timezone.now() - datetime.timedelta(days=3),
        entered_at=timezone.now() - datetime.timedelta(days=3),
        due_at=timezone.now() - datetime.timedelta(seconds=1),
    )
    call_command("periodic")
    assert Enrolment.objects.get().state == "completed"
    assert "Waited 2 days" in _path(profile)


def test_a_merged_away_profile_is_not_contacted(make_journey):
    """The consent seam refuses profiles merged into another one; the step is recorded as skipped."""
    journey = make_journey(WAIT_THEN_TAG)
    survivor = Profile.objects.create()
    merged = Profile.objects.create(traits={"plan": "pro"})
    now = timezone.now()
    _enrol(journey, merged, now=now)
    due_steps_process(now=now)
    Profile.objects.filter(pk=merged.pk).update(merged_into=survivor)
    due_steps_process(now=now + datetime.timedelta(days=2, seconds=1))
    assert "merged into another profile" in _path(merged)[-2]
