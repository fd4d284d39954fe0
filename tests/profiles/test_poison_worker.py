"""With a real Celery worker on PostgreSQL: a poison batch no longer holds back the events sent after it."""

import json
import time

import pytest
from django.db import connection

from profiles.ingest.inbox import batch_accept, request_info_now
from profiles.models import Event, IngestBatch, IngestError

from .factories import make_source

pytestmark = pytest.mark.worker

GOOD_EVENTS = 30


def _accept(source, items: list[dict], *, raw: str | None = None) -> IngestBatch:
    return batch_accept(
        source=source,
        kind="batch",
        body=raw or json.dumps({"batch": items}),
        event_count=len(items),
        info=request_info_now(client_ip="127.0.0.1", user_agent="", browser_source=False),
    )


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def _good(n: int) -> dict:
    return {"type": "track", "event": "Page Read", "userId": f"reader-{n % 5}", "messageId": f"good-{n}"}


@pytest.fixture
def refusing_database():
    """A database that refuses one event name (a trigger), as PostgreSQL refuses what it cannot store."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS refuse_poison ON profiles_event")
        cursor.execute(
            "CREATE OR REPLACE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'this row is refused'; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON profiles_event FOR EACH ROW "
            "WHEN (NEW.name = 'Poison') EXECUTE FUNCTION refuse_poison()"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS refuse_poison ON profiles_event")
        cursor.execute("DROP FUNCTION IF EXISTS refuse_poison()")


def test_nul_and_lone_surrogates_do_not_stall_the_source(celery_workers):
    source, _ = make_source(name="Website")
    celery_workers.start(name="poison-nul")
    poison = (
        '{"batch": [{"type": "track", "event": "Bad\\u0000", "userId": "u\\ud800", "messageId": "p-1",'
        ' "properties": {"k\\u0000": "\\udfff"}}]}'
    )
    _accept(source, [{}], raw=poison)
    for n in range(GOOD_EVENTS):
        _accept(source, [_good(n)])

    assert _wait_for(lambda: Event.objects.count() == GOOD_EVENTS + 1, timeout=60)
    assert Event.objects.get(message_id="p-1").properties == {"k": "\ufffd"}
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()
    assert not IngestBatch.objects.filter(attempts__gt=0).exists()  # cleaned, never failed


def test_an_event_the_database_refuses_costs_the_others_one_attempt(celery_workers, refusing_database):
    source, _ = make_source(name="Website")
    # The poison waits first in the inbox, so that the drain groups it with the good batches behind it.
    _accept(source, [{"type": "track", "event": "Poison", "userId": "x", "messageId": "p-1"}, _good(-1)])
    for n in range(GOOD_EVENTS):
        _accept(source, [_good(n)])
    celery_workers.start(name="poison-refused")

    assert _wait_for(lambda: Event.objects.count() == GOOD_EVENTS + 1, timeout=60)
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()
    assert max(IngestBatch.objects.values_list("attempts", flat=True)) <= 1
    error = IngestError.objects.get()
    assert error.message_id == "p-1" and "this row is refused" in error.reason
    assert not Event.objects.filter(message_id="p-1").exists()
