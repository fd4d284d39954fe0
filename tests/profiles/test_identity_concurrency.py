"""Two real workers resolve interleaved batches at once and end with the same profiles as one worker."""

import json
import random
import time

import pytest

from profiles.ingest.inbox import batch_accept, request_info_now
from profiles.models import Event, Identity, IngestBatch, Profile, ProfileMerge

from .factories import make_source

pytestmark = pytest.mark.worker

PEOPLE = 24
BATCHES = 12


def _workload() -> list[list[dict]]:
    """Each person has one user id, an e-mail and three devices; their events are spread over every batch."""
    rng = random.Random(6)
    events = []
    for p in range(PEOPLE):
        devices = [f"d{p}-{k}" for k in range(3)]
        for device in devices:
            events.append({"type": "page", "anonymousId": device, "name": "Home"})
            events.append({"type": "track", "anonymousId": device, "event": "Product Viewed"})
        events.append({"type": "identify", "anonymousId": devices[0], "userId": f"u{p}"})
        events.append(
            {"type": "identify", "anonymousId": devices[1], "traits": {"email": f"p{p}@example.com"}}
        )
        events.append({"type": "identify", "anonymousId": devices[2], "userId": f"u{p}"})
        events.append(
            {
                "type": "track",
                "userId": f"u{p}",
                "event": "X",
                "context": {"traits": {"email": f"p{p}@example.com"}},
            }
        )
    rng.shuffle(events)
    batches = [[] for _ in range(BATCHES)]
    for n, event in enumerate(events):
        batches[n % BATCHES].append({**event, "messageId": f"m{n}"})
    return batches


def _send(source, batches) -> None:
    for items in batches:
        batch_accept(
            source=source,
            kind="batch",
            body=json.dumps({"batch": items}),
            event_count=len(items),
            info=request_info_now(client_ip=None, user_agent="", browser_source=False),
        )


def _wait_all_processed(timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not IngestBatch.objects.filter(processed_at__isnull=True).exists():
            return
        time.sleep(0.2)
    raise AssertionError("batches were not all processed in time")


def _partition() -> set[frozenset]:
    groups: dict[int, set] = {}
    for kind, value, profile_id in Identity.objects.values_list("kind", "value", "profile_id"):
        groups.setdefault(profile_id, set()).add(f"{kind}:{value}")
    return {frozenset(group) for group in groups.values()}


def _reset() -> None:
    ProfileMerge.objects.all().delete()
    Event.objects.all().delete()
    IngestBatch.objects.all().delete()
    Identity.objects.all().delete()
    Profile.objects.all().delete()


def test_two_workers_end_with_the_same_profiles_as_one(celery_workers):
    source, _ = make_source(name="Concurrent shop")
    batches = _workload()

    first, second = celery_workers.start(name="identity-a"), celery_workers.start(name="identity-b")
    _send(source, batches)
    _wait_all_processed()
    two_workers = _partition()
    live = Profile.objects.filter(merged_into__isnull=True)
    assert live.count() == PEOPLE
    assert not Event.objects.exclude(profile__in=live).exists()
    assert not Identity.objects.exclude(profile__in=live).exists()
    assert Event.objects.count() == sum(len(b) for b in batches)
    assert ProfileMerge.objects.filter(kind="merge").exists()  # devices met across batches: real merges
    assert not ProfileMerge.objects.filter(kind="refused").exists()
    celery_workers.kill(second)

    _reset()
    _send(source, batches)
    _wait_all_processed()
    assert _partition() == two_workers
    expected = {
        frozenset({f"user_id:u{p}", f"email:p{p}@example.com", *(f"anonymous_id:d{p}-{k}" for k in range(3))})
        for p in range(PEOPLE)
    }
    assert two_workers == expected
    assert first.poll() is None
