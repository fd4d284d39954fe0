"""Event triggers enrol on events however late the pipeline stores them, but not on historical imports."""

import datetime

import pytest
from django.utils import timezone

from profiles.ingest.drain import batch_process
from profiles.models import IngestBatch
from segments.journeys.models import Enrolment
from tests.profiles.factories import make_source, store_batch, track

pytestmark = pytest.mark.django_db


@pytest.fixture
def cart_journey(make_journey):
    return make_journey(
        {
            "trigger": {"type": "event", "event": "Product Added"},
            "steps": [{"id": "w", "type": "wait", "duration": {"days": 1}, "next": None}],
        }
    )


def test_a_batch_processed_hours_late_still_enrols(cart_journey, django_capture_on_commit_callbacks):
    """A backlog (workers down for three hours): the inbox batch is processed long after it arrived."""
    source, _ = make_source()
    with django_capture_on_commit_callbacks(execute=False):
        batch = store_batch(source, [track(1, event="Product Added")])
    IngestBatch.objects.filter(pk=batch.pk).update(received_at=timezone.now() - datetime.timedelta(hours=3))
    with django_capture_on_commit_callbacks(execute=True):
        batch_process(batch_id=batch.pk)
    enrolment = Enrolment.objects.get(journey=cart_journey)
    assert enrolment.trigger_ref.startswith("event:")
    assert enrolment.step == "w"


def test_an_offline_phone_sending_yesterdays_event_enrols(cart_journey, django_capture_on_commit_callbacks):
    source, _ = make_source()
    yesterday = (timezone.now() - datetime.timedelta(hours=20)).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        store_batch(source, [track(1, event="Product Added", timestamp=yesterday)])
    assert Enrolment.objects.filter(journey=cart_journey).count() == 1


def test_a_historical_import_does_not_enrol(cart_journey, django_capture_on_commit_callbacks, settings):
    settings.JOURNEYS_EVENT_MAX_AGE_HOURS = 72
    source, _ = make_source()
    long_ago = (timezone.now() - datetime.timedelta(days=10)).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        store_batch(source, [track(1, event="Product Added", timestamp=long_ago)])
    assert not Enrolment.objects.filter(journey=cart_journey).exists()
