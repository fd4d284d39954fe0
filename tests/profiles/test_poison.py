"""Poison events: strings PostgreSQL refuses are cleaned, and whatever cannot be stored is isolated."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from profiles.ingest import drain
from profiles.ingest.drain import batch_process
from profiles.ingest.sweep import batches_sweep
from profiles.models import Event, IngestBatch, IngestError, Profile, Source

from .factories import make_source, store_batch, track

pytestmark = pytest.mark.django_db

# As the client sends them: JSON escapes of NUL and of lone surrogates, in keys and values everywhere.
POISON_TEXT = json.dumps(
    {
        "batch": [
            {
                "type": "track",
                "event": "Order\u0000Completed",
                "userId": "user-\ud800-1",
                "messageId": "poison-\u0000-1",
                "properties": {
                    "note\u0000": "a\u0000b",
                    "emoji": "\ud83d",
                    "low": "\udc00x",
                    "ok": "\ud83d\ude00",
                },
                "context": {"page": {"title": "T\u0000"}, "userAgent": "UA\ud800"},
            },
            {
                "type": "identify",
                "userId": "user-2",
                "messageId": "poison-2",
                "traits": {"name\ud800": "Ann\u0000", "email": "ann@example.com"},
            },
        ]
    }
)


def _refuse_events_named(name: str) -> None:
    """A database that refuses one event (as PostgreSQL refuses values it cannot store)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE OR REPLACE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'this row is refused'; END $$"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON profiles_event FOR EACH ROW "
                f"WHEN (NEW.name = '{name}') EXECUTE FUNCTION refuse_poison()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON profiles_event "
                f"WHEN NEW.name = '{name}' BEGIN SELECT RAISE(ABORT, 'this row is refused'); END"
            )


def test_nul_and_lone_surrogates_anywhere_are_cleaned_and_the_events_kept(client, post):
    response = post("/v1/batch", None, raw=POISON_TEXT.encode())
    assert response.status_code == 200

    order = Event.objects.get(type="track")
    assert order.name == "OrderCompleted"
    assert order.user_id == "user-\ufffd-1" and order.message_id == "poison--1"
    assert order.properties == {"note": "ab", "emoji": "\ufffd", "low": "\ufffdx", "ok": "\U0001f600"}
    assert order.context["page"]["title"] == "T" and order.context["userAgent"] == "UA\ufffd"
    identify = Event.objects.get(type="identify")
    assert identify.traits == {"name\ufffd": "Ann", "email": "ann@example.com"}
    assert Profile.objects.get(identities__value="user-2").traits["name\ufffd"] == "Ann"
    assert not IngestError.objects.exists()


def test_nan_and_infinity_are_stored_as_null(post):
    raw = b'{"batch": [{"type": "track", "event": "E", "userId": "u", "properties": {"a": NaN, "b": 1e999}}]}'
    assert post("/v1/batch", None, raw=raw).status_code == 200
    assert Event.objects.get().properties == {"a": None, "b": None}


def test_the_events_api_and_timelines_answer_after_a_poison_event(post, marketing_api, marketing_client):
    post("/v1/batch", None, raw=POISON_TEXT.encode())
    response = marketing_api.get("/api/cdp/events/")
    assert response.status_code == 200
    assert {row["name"] for row in response.json()["results"]} >= {"OrderCompleted"}
    profile = Profile.objects.get(identities__value="user-\ufffd-1")
    timeline = marketing_client.get(f"/cdp/profiles/{profile.pk}/timeline/")
    assert timeline.status_code == 200
    assert "OrderCompleted" in timeline.content.decode()


def test_a_lone_surrogate_stored_before_the_fix_does_not_break_the_api_or_the_timeline(
    marketing_api, marketing_client
):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL never stored a lone surrogate (it refused it); SQLite's JSON columns did")
    source, _ = make_source()
    profile = Profile.objects.create()
    now = timezone.now()
    Event.objects.create(
        source=source,
        profile=profile,
        message_id="old-1",
        type="track",
        name="Legacy",
        timestamp=now,
        received_at=now,
        properties={"items": "x\ud800"},
    )
    response = marketing_api.get("/api/cdp/events/")
    assert response.status_code == 200
    assert response.json()["results"][0]["properties"] == {"items": "x\ud800"}
    timeline = marketing_client.get(f"/cdp/profiles/{profile.pk}/timeline/")
    assert timeline.status_code == 200
    assert "Legacy" in timeline.content.decode() and "x\ufffd" in timeline.content.decode()


def test_an_event_the_database_refuses_is_rejected_alone_with_the_reason(marketing_client):
    source, _ = make_source()
    _refuse_events_named("Poison")
    items = [track(1), track(2, event="Poison"), track(3), track(4)]
    result = batch_process(batch_id=store_batch(source, items).pk)

    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["msg-1", "msg-3", "msg-4"]
    assert result.accepted == 3 and result.rejected == 1
    error = IngestError.objects.get()
    assert error.position == 1 and error.message_id == "msg-2"
    assert error.reason.startswith("the event could not be stored (")
    assert "this row is refused" in error.reason
    batch = IngestBatch.objects.get()
    assert batch.processed_at is not None and batch.failed_at is None
    assert (batch.accepted_count, batch.rejected_count, batch.attempts) == (3, 1, 1)
    source.refresh_from_db()
    assert (source.events_accepted, source.events_rejected) == (3, 1)

    page = marketing_client.get(f"/cdp/sources/{source.pk}/").content.decode()
    assert "this row is refused" in page


def test_a_poison_batch_costs_the_batches_grouped_with_it_one_attempt(grouping):
    source, _ = make_source()
    _refuse_events_named("Poison")
    good_before = store_batch(source, [track(1), track(2)])
    poison = store_batch(source, [track(3), track(4, event="Poison")])
    good_after = [store_batch(source, [track(n)]) for n in range(5, 9)]

    result = batch_process(batch_id=good_before.pk, more=10)

    assert result.batches == 6 and result.accepted == 7 and result.rejected == 1
    assert Event.objects.count() == 7
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()
    assert IngestError.objects.get().message_id == "msg-4"
    # Every batch of the failed group was tried once more on its own; none was set aside.
    assert set(IngestBatch.objects.values_list("attempts", flat=True)) == {1}
    assert not IngestBatch.objects.filter(failed_at__isnull=False).exists()
    assert {b.pk for b in good_after} <= set(Event.objects.values_list("batch_id", flat=True))
    assert poison.pk in set(Event.objects.values_list("batch_id", flat=True))


def test_a_batch_that_failed_is_processed_on_its_own_never_in_a_group_again(grouping):
    source, _ = make_source()
    failed = store_batch(source, [track(1)])
    IngestBatch.objects.filter(pk=failed.pk).update(attempts=1, last_error="earlier failure")
    others = [store_batch(source, [track(n)]) for n in (2, 3)]

    assert batch_process(batch_id=others[0].pk, more=10).batches == 2
    assert IngestBatch.objects.get(pk=failed.pk).processed_at is None  # not claimed with them
    assert batch_process(batch_id=failed.pk, more=10).batches == 1
    assert Event.objects.count() == 3


def test_a_batch_that_keeps_failing_whole_is_set_aside_with_its_reason(
    monkeypatch, settings, marketing_client
):
    source, _ = make_source()
    broken = store_batch(source, [track(1), track(2)])
    fine = store_batch(source, [track(3)])
    real_parse = drain.batch_parse

    def parse(batch, source):
        if batch.pk == broken.pk:
            raise RecursionError("maximum recursion depth exceeded")
        return real_parse(batch, source)

    monkeypatch.setattr(drain, "batch_parse", parse)
    settings.INGEST_SWEEP_AFTER_SECONDS = 0
    for _ in range(settings.INGEST_MAX_ATTEMPTS):
        batch_process(batch_id=broken.pk)
        long_ago = timezone.now() - timedelta(minutes=5)
        IngestBatch.objects.filter(pk=broken.pk).update(enqueued_at=long_ago)
    batch_process(batch_id=fine.pk)

    broken.refresh_from_db()
    assert broken.attempts == settings.INGEST_MAX_ATTEMPTS
    assert broken.failed_at is not None and broken.processed_at is not None
    assert broken.rejected_count == 2 and "RecursionError" in broken.last_error
    error = IngestError.objects.get(batch=broken)
    assert error.reason.startswith("the whole batch (2 events) could not be stored: RecursionError")
    assert batches_sweep() == 0  # never brought back
    assert list(Event.objects.values_list("message_id", flat=True)) == ["msg-3"]
    source.refresh_from_db()
    assert source.events_rejected == 2

    page = marketing_client.get(f"/cdp/sources/{source.pk}/")
    failing = page.content.decode().split('data-testid="failing-batches"')[1]
    assert "Set aside" in failing and "RecursionError" in failing


def test_an_unreachable_database_rejects_nothing(monkeypatch):
    from django.db import OperationalError

    source, _ = make_source()
    batch = store_batch(source, [track(1)])

    def down(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(drain, "events_store", down)
    monkeypatch.setattr(drain, "_attempt_record", down)  # not even the failure can be written
    with pytest.raises(OperationalError):
        batch_process(batch_id=batch.pk)  # the task retries
    monkeypatch.undo()
    batch.refresh_from_db()
    assert batch.processed_at is None and batch.attempts == 0
    assert not IngestError.objects.exists()
    batch_process(batch_id=batch.pk)
    assert Event.objects.count() == 1


def test_healthz_reports_batches_waiting_too_long_as_degraded(client, settings):
    source, _ = make_source()
    batch = store_batch(source, [track(1)])
    assert client.get("/healthz").json()["checks"]["ingest"]["ok"] is True
    IngestBatch.objects.filter(pk=batch.pk).update(
        processed_at=None, received_at=timezone.now() - timedelta(minutes=10), attempts=2
    )
    response = client.get("/healthz")
    assert response.status_code == 200  # a load balancer must not take the web process out for this
    body = response.json()
    assert body["status"] == "degraded"
    ingest = body["checks"]["ingest"]
    assert ingest["ok"] is False and ingest["oldest_waiting_seconds"] >= 600
    assert ingest["retrying_batches"] == 1
    assert Source.objects.count() == 1
