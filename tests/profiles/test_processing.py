"""Batch processing: fixed query count, idempotency, the sweeper, profile resolution, the hand-off signal."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from profiles.ingest.drain import batch_process
from profiles.ingest.inbox import batch_accept, batches_purge, request_info_now
from profiles.ingest.normalize import NormalizedEvent
from profiles.ingest.sweep import batches_sweep
from profiles.models import Event, Identity, IngestBatch, Profile
from profiles.signals import profiles_changed
from profiles.unify.resolution import profiles_resolve

from .factories import make_source, track

pytestmark = pytest.mark.django_db


def _store(source, items, **info) -> IngestBatch:
    """An inbox batch as the view stores it, without processing it (no on-commit callbacks run)."""
    body = json.dumps({"batch": items})
    return batch_accept(
        source=source,
        kind="batch",
        body=body,
        event_count=len(items),
        info=request_info_now(client_ip="127.0.0.1", user_agent="", browser_source=False),
    )


def _mixed_batch(size: int, offset: int) -> list[dict]:
    items = []
    for n in range(offset, offset + size):
        kind = n % 4
        if kind == 0:
            items.append(
                {
                    "type": "identify",
                    "userId": f"u{n}",
                    "anonymousId": f"a{n}",
                    "messageId": f"m{n}",
                    "traits": {"email": f"p{n}@example.com"},
                }
            )
        elif kind == 1:
            items.append({"type": "page", "anonymousId": f"a{n - 1}", "name": "Home", "messageId": f"m{n}"})
        elif kind == 2:
            items.append(track(n))
        else:
            items.append({"type": "track", "messageId": f"m{n}"})  # rejected: no identifiers
    return items


def _queries_to_process(source, size: int, offset: int) -> int:
    batch = _store(source, _mixed_batch(size, offset))
    with CaptureQueriesContext(connection) as ctx:
        result = batch_process(batch_id=batch.pk)
    assert result is not None and result.accepted == sum(
        1 for n in range(offset, offset + size) if n % 4 != 3
    )
    return len(ctx.captured_queries)


def test_processing_runs_the_same_number_of_queries_for_10_and_200_events():
    source, _ = make_source()
    assert _queries_to_process(source, 10, 0) == _queries_to_process(source, 200, 1000)


def test_processing_a_known_batch_again_is_a_no_op():
    source, _ = make_source()
    batch = _store(source, [track(1), track(2)])
    assert batch_process(batch_id=batch.pk).accepted == 2
    assert batch_process(batch_id=batch.pk) is None
    assert Event.objects.count() == 2


def test_reprocessing_a_batch_from_scratch_adds_no_duplicates():
    source, _ = make_source()
    batch = _store(source, [track(1), track(2)])
    batch_process(batch_id=batch.pk)
    IngestBatch.objects.filter(pk=batch.pk).update(
        processed_at=None
    )  # as if the worker died before marking it

    result = batch_process(batch_id=batch.pk)

    assert (result.accepted, result.duplicates) == (0, 2)
    assert Event.objects.count() == 2


def test_two_batches_with_the_same_message_ids_store_each_once():
    source, _ = make_source()
    first, second = _store(source, [track(1), track(2)]), _store(source, [track(2), track(3)])
    batch_process(batch_id=first.pk)
    batch_process(batch_id=second.pk)
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["msg-1", "msg-2", "msg-3"]


def test_sweeper_processes_batches_left_behind(django_capture_on_commit_callbacks):
    source, _ = make_source()
    stale = _store(source, [track(1)])
    fresh = _store(make_source()[0], [track(2)])  # another source: the worker would not group it with `stale`
    IngestBatch.objects.filter(pk=stale.pk).update(
        received_at=timezone.now() - timedelta(minutes=5), enqueued_at=timezone.now() - timedelta(minutes=5)
    )

    with django_capture_on_commit_callbacks(execute=True):
        swept = batches_sweep(older_than_seconds=60)

    assert swept == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.processed_at is not None and fresh.processed_at is None
    assert list(Event.objects.values_list("message_id", flat=True)) == ["msg-1"]
    assert batches_sweep(older_than_seconds=60) == 0


def test_sweeper_does_not_re_enqueue_a_batch_it_just_enqueued():
    source, _ = make_source()
    batch = _store(source, [track(1)])
    IngestBatch.objects.filter(pk=batch.pk).update(received_at=timezone.now() - timedelta(minutes=5))
    assert batches_sweep(older_than_seconds=60) == 0  # enqueued_at is recent: the task may still be queued


def test_profiles_changed_is_sent_after_commit_with_the_profile_ids(django_capture_on_commit_callbacks):
    source, _ = make_source()
    received = []

    def receiver(sender, profile_ids, **kwargs):
        received.append(profile_ids)

    profiles_changed.connect(receiver)
    try:
        batch = _store(source, [track(1), track(2), track(1)])
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            batch_process(batch_id=batch.pk)
        assert received == []
        for callback in callbacks:
            callback()
    finally:
        profiles_changed.disconnect(receiver)
    assert received == [sorted(Profile.objects.values_list("pk", flat=True))]
    assert len(received[0]) == 2


def _event(message_id: str, **ids) -> NormalizedEvent:
    now = timezone.now()
    return NormalizedEvent(message_id=message_id, type="track", timestamp=now, received_at=now, **ids)


def test_resolution_groups_new_identifiers_seen_together_into_one_profile():
    mapping = profiles_resolve(
        events=[
            _event("1", anonymous_id="a1"),
            _event("2", anonymous_id="a1", email="x@example.com"),
            _event("3", email="x@example.com", user_id="u1"),
            _event("4", anonymous_id="b2"),
        ]
    )
    assert mapping["1"] == mapping["2"] == mapping["3"] != mapping["4"]
    assert Profile.objects.count() == 2
    assert Identity.objects.count() == 4


def test_resolution_reuses_existing_profiles_and_attaches_new_identifiers():
    first = profiles_resolve(events=[_event("1", user_id="u1")])
    second = profiles_resolve(events=[_event("2", user_id="u1", anonymous_id="new-anon")])
    assert first["1"] == second["2"]
    assert Identity.objects.get(value="new-anon").profile_id == first["1"]


def test_conflicting_identifiers_attach_to_the_user_id_profile_without_merging():
    by_user = profiles_resolve(events=[_event("1", user_id="u1")])["1"]
    by_anon = profiles_resolve(events=[_event("2", anonymous_id="a1")])["2"]
    mapping = profiles_resolve(events=[_event("3", user_id="u1", anonymous_id="a1")])
    assert mapping["3"] == by_user
    assert Profile.objects.count() == 2 and by_anon != by_user


def test_purge_deletes_processed_batches_past_retention_and_keeps_their_events():
    source, _ = make_source()
    old, recent, pending = (_store(source, [track(n)]) for n in (1, 2, 3))
    batch_process(batch_id=old.pk)
    batch_process(batch_id=recent.pk)
    IngestBatch.objects.filter(pk=old.pk).update(processed_at=timezone.now() - timedelta(days=10))
    IngestBatch.objects.filter(pk=pending.pk).update(received_at=timezone.now() - timedelta(days=10))

    assert batches_purge(older_than_days=7) == 1

    assert set(IngestBatch.objects.values_list("pk", flat=True)) == {recent.pk, pending.pk}
    assert Event.objects.count() == 2
