"""Profiles that only receive passive events (track, page, screen) are folded after the events are stored,
in a short transaction of their own, so two workers whose batches reach the same customers run in parallel.
"""

import threading
import time

import psycopg
import pytest
from django.db import OperationalError, connection

from profiles.ingest import drain, inbox
from profiles.ingest.drain import batch_process
from profiles.ingest.store import identifier_lock_key as _lock_key
from profiles.ingest.sweep import pending_profiles_refresh
from profiles.ingest.tasks import batches_sweep_task
from profiles.models import ComputedTrait, Event, IngestBatch, Profile
from profiles.unify.computed import computed_values

from .factories import make_source, store_batch, track

pytestmark = pytest.mark.django_db


@pytest.fixture
def postgres(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("profiles are folded without a lock only on PostgreSQL (SQLite has one writer)")
    # These tests process batches themselves, as a worker would: nothing is queued.
    monkeypatch.setattr(inbox, "drain_enqueue", lambda *args, **kwargs: None)


def other_connection() -> psycopg.Connection:
    """A second database session, as another worker process would have."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params)


def views(n: int, user: str, start: int = 0) -> list[dict]:
    return [track(start + i, userId=user, messageId=f"{user}-{start + i}") for i in range(n)]


def full(profile: Profile) -> dict:
    return computed_values(profile_ids=[profile.pk])[profile.pk]


def test_passive_events_keep_the_stored_traits_equal_to_a_full_recompute(postgres):
    ComputedTrait.objects.create(key="views", label="Views", aggregation="count", event_name="Product Viewed")
    ComputedTrait.objects.create(
        key="views_7d", label="Views 7d", aggregation="count", event_name="Product Viewed", window_days=7
    )
    web, _ = make_source(name="Web")
    app, _ = make_source(name="App")
    batch_process(batch_id=store_batch(web, views(2, "ann")).pk)  # new customer: the locked path
    result = batch_process(batch_id=store_batch(app, views(3, "ann", start=10)).pk)

    profile = Profile.objects.get()
    assert result.profile_ids == [profile.pk]
    assert profile.computed_traits == full(profile)
    assert profile.computed_traits["total_events"] == 5
    assert profile.computed_traits["channels_seen"] == ["App", "Web"]
    assert profile.computed_traits["views"] == 5
    assert IngestBatch.objects.filter(profiles_pending__isnull=False).count() == 0


def test_seen_times_sent_with_an_offset_are_stored_in_utc_on_every_path(postgres):
    source, _ = make_source()
    first = track(1, userId="ann", messageId="a-1", timestamp="2025-05-01T14:00:00+02:00")
    batch_process(batch_id=store_batch(source, [first]).pk)  # a new customer: the locked path
    later = track(2, userId="ann", messageId="a-2", timestamp="2025-05-03T09:30:00+02:00")
    batch_process(batch_id=store_batch(source, [later]).pk)  # a known one: the SQL fold

    profile = Profile.objects.get()
    assert profile.computed_traits["first_seen"] == "2025-05-01T12:00:00+00:00"
    assert profile.computed_traits["last_seen"] == "2025-05-03T07:30:00+00:00"
    assert profile.computed_traits == full(profile)


def test_a_trait_defined_since_the_last_write_is_computed_from_the_whole_history(postgres):
    source, _ = make_source()
    batch_process(batch_id=store_batch(source, views(3, "ann")).pk)
    ComputedTrait.objects.create(key="views", label="Views", aggregation="count", event_name="Product Viewed")

    batch_process(batch_id=store_batch(source, views(1, "ann", start=10)).pk)

    profile = Profile.objects.get()
    assert profile.computed_traits["views"] == 4
    assert profile.computed_traits == full(profile)


@pytest.mark.django_db(transaction=True)
def test_events_are_stored_while_another_worker_holds_their_profile(postgres):
    source, _ = make_source()
    batch_process(batch_id=store_batch(source, views(1, "ann")).pk)
    profile = Profile.objects.get()
    batch = store_batch(source, views(3, "ann", start=10))
    done = {}

    def worker():
        try:
            done["result"] = batch_process(batch_id=batch.pk)
        finally:
            connection.close()

    with other_connection() as other:
        # What a worker folding this profile takes (NO KEY UPDATE: events may still reference the row).
        other.execute("SELECT id FROM profiles_profile WHERE id = %s FOR NO KEY UPDATE", [profile.pk])
        thread = threading.Thread(target=worker)
        thread.start()
        deadline = time.monotonic() + 10
        while Event.objects.count() < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        # The events are stored and visible although the profile is still locked by the other session.
        assert Event.objects.filter(profile=profile).count() == 4
        assert "result" not in done
        other.commit()
    thread.join(timeout=10)

    assert done["result"].profile_ids == [profile.pk]
    profile.refresh_from_db()
    assert profile.computed_traits["total_events"] == 4


def test_a_profile_merged_away_meanwhile_hands_its_new_events_to_the_survivor(postgres, monkeypatch):
    source, _ = make_source()
    batch_process(batch_id=store_batch(source, [track(1, userId="ann", messageId="a-1")]).pk)
    batch_process(
        batch_id=store_batch(source, [track(2, userId=None, anonymousId="device-9", messageId="d-1")]).pk
    )
    ann, device = Profile.objects.order_by("pk")
    fold = drain.profiles_touch

    def merge_first(**kwargs):
        # Another worker's identify ties the device to Ann and commits between our two transactions.
        tie = {"type": "identify", "userId": "ann", "anonymousId": "device-9", "messageId": "tie"}
        batch_process(batch_id=store_batch(source, [tie]).pk)
        return fold(**kwargs)

    monkeypatch.setattr(drain, "profiles_touch", merge_first)
    passive = [track(n, userId=None, anonymousId="device-9", messageId=f"d-{n}") for n in (2, 3)]
    result = batch_process(batch_id=store_batch(source, passive).pk)

    device.refresh_from_db()
    assert device.merged_into_id == ann.pk
    assert set(Event.objects.values_list("profile_id", flat=True)) == {ann.pk}
    assert ann.pk in result.profile_ids
    ann.refresh_from_db()
    assert ann.computed_traits["total_events"] == 5
    assert ann.computed_traits == full(ann)


def test_the_sweeper_refreshes_profiles_whose_fold_never_ran(postgres, monkeypatch, settings):
    source, _ = make_source()
    batch_process(batch_id=store_batch(source, views(2, "ann")).pk)

    def killed(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(drain, "profiles_touch", killed)
    batch = store_batch(source, views(3, "ann", start=10))
    batch_process(batch_id=batch.pk)
    monkeypatch.undo()

    profile = Profile.objects.get()
    batch.refresh_from_db()
    assert batch.processed_at is not None and batch.profiles_pending == [profile.pk]
    assert Event.objects.count() == 5  # the events are safe
    assert profile.computed_traits["total_events"] == 2  # the fold is what waits

    assert pending_profiles_refresh(older_than_seconds=3600) == 0  # not before the sweep delay
    settings.INGEST_SWEEP_AFTER_SECONDS = 0
    batches_sweep_task()

    profile.refresh_from_db()
    batch.refresh_from_db()
    assert batch.profiles_pending is None
    assert profile.computed_traits["total_events"] == 5
    assert profile.computed_traits == full(profile)


def test_a_fold_that_hit_a_deadlock_is_tried_again_at_once(postgres, monkeypatch):
    source, _ = make_source()
    batch_process(batch_id=store_batch(source, views(2, "ann")).pk)
    fold, calls = drain.profiles_touch, []

    def deadlock_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("deadlock detected")
        return fold(**kwargs)

    monkeypatch.setattr(drain, "profiles_touch", deadlock_once)
    batch = store_batch(source, views(3, "ann", start=10))
    batch_process(batch_id=batch.pk)

    assert len(calls) == 2
    batch.refresh_from_db()
    assert batch.profiles_pending is None
    assert Profile.objects.get().computed_traits["total_events"] == 5


@pytest.mark.django_db(transaction=True)
def test_a_group_passes_over_batches_another_worker_holds(postgres, settings):
    # Room for its own batch and three more: the three oldest are the ones the other worker holds.
    settings.INGEST_GROUP_EVENTS = 4
    source, _ = make_source()
    batches = [store_batch(source, [track(n, userId=f"u-{n}")]) for n in range(6)]
    held = [b.pk for b in batches[:3]]

    with other_connection() as other:
        other.execute("SELECT id FROM profiles_ingestbatch WHERE id = ANY(%s) FOR UPDATE", [held])
        result = batch_process(batch_id=batches[3].pk, more=10)
        other.rollback()

    assert result.batches == 3
    processed = set(IngestBatch.objects.filter(processed_at__isnull=False).values_list("pk", flat=True))
    assert processed == {b.pk for b in batches[3:]}


@pytest.mark.django_db(transaction=True)
def test_identifiers_another_worker_is_storing_are_read_after_its_lock(postgres):
    source, _ = make_source()
    with other_connection() as other:
        # The other worker holds the identifiers' advisory locks and stores a profile for them...
        for identifier in (("user_id", "ann"), ("anonymous_id", "device-1")):
            other.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(identifier)])
        (theirs,) = other.execute(
            "INSERT INTO profiles_profile (traits, trait_times, computed_traits, created_at, updated_at) "
            "VALUES ('{}', '{}', '{}', now(), now()) RETURNING id"
        ).fetchone()
        for kind, value in (("user_id", "ann"), ("anonymous_id", "device-1")):
            other.execute(
                "INSERT INTO profiles_identity (kind, value, profile_id, created_at) VALUES (%s, %s, %s, now())",
                [kind, value, theirs],
            )
        # ...and commits while this worker waits for those locks.
        threading.Timer(0.5, other.commit).start()
        result = batch_process(
            batch_id=store_batch(source, [track(1, userId="ann", anonymousId="device-1")]).pk
        )

    assert result.accepted == 1
    assert list(Profile.objects.values_list("pk", flat=True)) == [theirs]
    assert Event.objects.get().profile_id == theirs


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_leaves_a_group_alone_while_its_fold_runs(postgres, monkeypatch):
    source, _ = make_source()
    batch_process(batch_id=store_batch(source, views(2, "ann")).pk)
    fold, swept = drain.profiles_touch, []

    def sweep_meanwhile(**kwargs):
        def sweeper():
            try:
                swept.append(pending_profiles_refresh(older_than_seconds=0))
            finally:
                connection.close()

        thread = threading.Thread(target=sweeper)
        thread.start()
        thread.join(timeout=10)
        return fold(**kwargs)

    monkeypatch.setattr(drain, "profiles_touch", sweep_meanwhile)
    batch_process(batch_id=store_batch(source, views(3, "ann", start=10)).pk)

    assert swept == [0]  # the group's fold holds its batch: nothing for the sweeper to do
    assert Profile.objects.get().computed_traits["total_events"] == 5  # counted once
