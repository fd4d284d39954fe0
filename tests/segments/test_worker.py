"""With a real broker, worker and beat: a window expiry row removes the member within seconds of its time."""

import datetime
import time

import pytest
from django.utils import timezone

from segments import services
from segments.models import Membership

from . import factories as f

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_window_expiry_is_swept_by_beat_on_the_worker_on_time(celery_workers):
    celery_workers.start(queues="default,segments,activation", beat=True)
    prof = f.profile()
    seg = f.segment({"event": "Product Added", "within": {"minutes": 1}})
    f.event(prof, "Product Added", at=timezone.now() - datetime.timedelta(seconds=50))
    services.segment_profiles_recheck(segment_id=seg.pk, profile_ids=[prof.pk])
    membership = Membership.objects.get(segment=seg, profile=prof)
    assert membership.exited_at is None

    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        membership.refresh_from_db()
        if membership.exited_at is not None:
            break
        time.sleep(0.5)
    assert membership.exited_at is not None
    leaves_at = f.Event.objects.get(profile=prof).timestamp + datetime.timedelta(minutes=1)
    assert leaves_at <= membership.exited_at <= leaves_at + datetime.timedelta(seconds=10)
