"""Deleting a segment right after creating it, while a real worker runs its first evaluation: always 204."""

import pytest
from django.utils import timezone

from profiles.models import Profile
from segments.models import Membership, Segment, SegmentSize

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TRIES = 20


def test_delete_right_after_create_waits_for_the_first_evaluation(celery_workers, marketing_api):
    celery_workers.start(queues="default,segments,activation", concurrency=2)
    now = timezone.now()
    Profile.objects.bulk_create(
        [Profile(traits={"plan": "gold"}, first_seen=now, last_seen=now) for _ in range(2_000)]
    )
    statuses = []
    for attempt in range(TRIES):
        created = marketing_api.post(
            "/api/segments/",
            {"name": f"Gold {attempt}", "rule": {"trait": "plan", "op": "eq", "value": "gold"}},
            format="json",
        )
        assert created.status_code == 201, created.content
        statuses.append(marketing_api.delete(f"/api/segments/{created.json()['id']}/").status_code)
    assert statuses == [204] * TRIES
    assert not Segment.objects.exists()
    assert not Membership.objects.exists() and not SegmentSize.objects.exists()
