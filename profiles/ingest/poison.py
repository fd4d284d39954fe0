"""What a failing store leaves behind: the event the database refuses, found by halving; a batch set aside."""

import json
import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from ..models import IngestBatch, IngestError, Source
from .clean import text_clean
from .normalize import NormalizedEvent, Rejection
from .pipeline import Stored, events_store

logger = logging.getLogger(__name__)

# The database rather than the data: a lost connection, a deadlock. Not counted against a single event
# until its batch has failed this way INGEST_MAX_ATTEMPTS times.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


def error_reason(error: BaseException) -> str:
    """One storable line naming what went wrong."""
    first_line = (str(error).strip().splitlines() or [""])[0]
    return text_clean(f"{type(error).__name__}: {first_line}".rstrip(": "))[:250]


def event_refused(event: NormalizedEvent, error: BaseException) -> Rejection:
    excerpt = {
        "type": event.type,
        "messageId": event.message_id,
        "event": event.name,
        "userId": event.user_id,
        "anonymousId": event.anonymous_id,
        "properties": event.properties,
        "traits": event.traits,
    }
    return Rejection(
        position=event.position,
        message_id=text_clean(event.message_id),
        reason=f"the event could not be stored ({error_reason(error)})"[:300],
        excerpt=json.dumps(excerpt, default=str)[:1000],
    )


def store_halving(
    *, source: Source, batch: IngestBatch, events: list[NormalizedEvent]
) -> tuple[Stored, list[Rejection]]:
    """Store the events in savepoints: all at once, else each half, down to single events; the ones the
    database still refuses alone (after a second try) come back as rejections. Splitting a batch does not
    change how its events resolve (identity resolution is the same event by event)."""
    stored, refused = Stored(), []

    def attempt(chunk: list[NormalizedEvent], *, again: bool = False) -> None:
        try:
            with transaction.atomic():
                part = events_store(source=source, parts=[(batch.pk, chunk)], unlocked_ok=False)
        except Exception as error:
            if transaction.get_rollback():
                raise  # the savepoint itself is gone (connection lost): nothing here can be judged
            if len(chunk) > 1:
                middle = len(chunk) // 2
                attempt(chunk[:middle])
                attempt(chunk[middle:])
            elif not again:
                attempt(chunk, again=True)
            elif isinstance(error, TRANSIENT_ERRORS) and batch.attempts < settings.INGEST_MAX_ATTEMPTS:
                raise
            else:
                refused.append(event_refused(chunk[0], error))
            return
        stored.add(part)

    if events:
        attempt(events)
    return stored, refused


def batch_set_aside(*, batch_id: int, error: BaseException) -> None:
    """Give up on a batch that failed as a whole too often: processed, failed, every event rejected with
    the reason, so that the sweeper stops bringing it back and staff see why on the source page."""
    reason = error_reason(error)
    logger.error(
        "ingest batch %s set aside after %s attempts: %s", batch_id, settings.INGEST_MAX_ATTEMPTS, reason
    )
    with transaction.atomic():
        batch = (
            IngestBatch.objects.select_for_update()
            .filter(pk=batch_id, processed_at__isnull=True)
            .only("id", "source_id", "event_count", "body")
            .first()
        )
        if batch is None:
            return
        now = timezone.now()
        IngestBatch.objects.filter(pk=batch.pk).update(
            processed_at=now,
            failed_at=now,
            accepted_count=0,
            rejected_count=batch.event_count,
            last_error=reason,
        )
        IngestError.objects.create(
            source_id=batch.source_id,
            batch_id=batch.pk,
            position=0,
            reason=f"the whole batch ({batch.event_count} events) could not be stored: {reason}"[:300],
            excerpt=text_clean(batch.body[:1000]),
            created_at=now,
        )
        Source.objects.filter(pk=batch.source_id).update(
            events_rejected=F("events_rejected") + batch.event_count
        )
