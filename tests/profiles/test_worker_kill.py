"""A real prefork worker is SIGKILLed mid-batch: every accepted messageId is still stored exactly once."""

import json
import time

import pytest
from django.db import connection

from profiles.ingest.inbox import batch_accept, request_info_now
from profiles.ingest.sweep import batches_sweep
from profiles.models import Event, IngestBatch

from .factories import make_source

pytestmark = pytest.mark.worker

BATCHES = 6
EVENTS_PER_BATCH = 50


def _wait_for(condition, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(message)


def _processed() -> int:
    return IngestBatch.objects.filter(processed_at__isnull=False).count()


def _a_batch_is_in_flight() -> bool:
    """The worker sits inside its processing transaction (claimed batch row locked, test delay running)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def test_killed_worker_loses_nothing_and_duplicates_nothing(celery_workers, monkeypatch):
    source, _ = make_source(name="Shop backend")
    expected = set()
    # Processing is slowed down (test-only hook) so the kill lands in the middle of a batch.
    monkeypatch.setenv("INGEST_TEST_DELAY_SECONDS", "1.5")
    # Two batches per transaction: the kill lands in a group, whose batches must all survive it.
    monkeypatch.setenv("INGEST_GROUP_BATCHES", "2")
    first = celery_workers.start(name="kill-victim")
    for b in range(BATCHES):
        items = [
            {
                "type": "track",
                "event": "Order Completed",
                "userId": f"u{b}-{n % 7}",
                "messageId": f"b{b}-m{n}",
            }
            for n in range(EVENTS_PER_BATCH)
        ]
        # One message repeats an earlier batch's messageId: it must still be stored once.
        items.append({"type": "track", "event": "Order Completed", "userId": "u0", "messageId": "b0-m0"})
        expected.update(item["messageId"] for item in items)
        info = request_info_now(client_ip="127.0.0.1", user_agent="", browser_source=False)
        batch_accept(
            source=source, kind="batch", body=json.dumps({"batch": items}), event_count=len(items), info=info
        )

    _wait_for(lambda: _processed() >= 1, 30, "the first worker processed nothing")
    # Kill only while the worker holds a batch (its row is locked inside the processing transaction).
    _wait_for(_a_batch_is_in_flight, 30, "no batch was being processed after the first one")
    celery_workers.kill(first)
    processed_at_kill = _processed()
    assert processed_at_kill < BATCHES, "the worker finished everything before it was killed"

    monkeypatch.delenv("INGEST_TEST_DELAY_SECONDS")
    celery_workers.start(name="kill-successor")
    # The killed worker's message is only redelivered after the broker's visibility timeout; the sweeper
    # (run here with a zero age instead of waiting a minute) re-enqueues whatever is still unprocessed.
    _wait_for(lambda: _processed() >= processed_at_kill, 5, "successor did not start")
    batches_sweep(older_than_seconds=0)
    _wait_for(lambda: _processed() == BATCHES, 60, "not every accepted batch was processed after the kill")

    stored = list(Event.objects.filter(source=source).values_list("message_id", flat=True))
    assert len(stored) == len(set(stored)), "a messageId was stored twice"
    assert set(stored) == expected
