"""A real worker (with beat) is SIGKILLed while it runs a batch of due steps: no step is lost or repeated."""

import time

import pytest
from django.db import connection
from django.utils import timezone

from contacts import services as contact_services
from contacts.models import Task
from profiles.models import Profile
from segments.journeys import services
from segments.journeys.models import Enrolment, StepLog

pytestmark = pytest.mark.worker

PROFILES = 24


def _wait_for(condition, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(message)


def _in_flight() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def _done() -> int:
    return Enrolment.objects.filter(state="completed").count()


def test_killed_worker_neither_loses_nor_repeats_a_step(celery_workers, monkeypatch):
    journey = services.journey_save(
        user=None,
        name="Kill test",
        definition={
            "trigger": {"type": "event", "event": "never"},
            "steps": [{"id": "call", "type": "task", "title": "Call the customer", "next": None}],
        },
    )
    services.journey_publish(journey=journey, user=None)
    refs = {}
    for n in range(PROFILES):
        contact = contact_services.contact_create(user=None, first_name=f"C{n}", email=f"c{n}@example.com")
        refs[Profile.objects.create(contact=contact).pk] = f"kill:{n}"
    # Steps are due now; the sweeper runs from beat (every 5 s) in 6-row batches, each held open 1.5 s.
    monkeypatch.setenv("JOURNEYS_SWEEP_BATCH", "6")
    monkeypatch.setenv("JOURNEYS_TEST_DELAY_SECONDS", "1.5")
    victim = celery_workers.start(name="journey-victim", queues="journeys", beat=True)
    services.profiles_enrol(journey_id=journey.pk, refs=refs, now=timezone.now())
    _wait_for(lambda: _done() >= 6, 40, "the first worker finished no batch")
    _wait_for(_in_flight, 30, "no batch was running after the first one")
    celery_workers.kill(victim)
    at_kill = _done()
    assert at_kill < PROFILES, "everything was done before the kill"

    monkeypatch.delenv("JOURNEYS_TEST_DELAY_SECONDS")
    celery_workers.start(name="journey-successor", queues="journeys", beat=True)
    _wait_for(lambda: _done() == PROFILES, 60, "not every due step ran after the kill")

    assert Task.objects.filter(title="Call the customer").count() == PROFILES  # each exactly once
    assert sorted(Task.objects.values_list("contact_id", flat=True)) == sorted(
        Profile.objects.filter(pk__in=refs).values_list("contact_id", flat=True)
    )
    assert StepLog.objects.filter(kind="step").count() == PROFILES
