"""Reads of the CDP: sources by key, source pages, recent errors and event counts."""

import hashlib

from django.db.models import Count, QuerySet

from .models import Event, IngestBatch, IngestError, Source


def write_key_digest(write_key: str) -> str:
    return hashlib.sha256(write_key.encode()).hexdigest()


def source_by_key_hash(*, digest: str) -> Source | None:
    return Source.objects.filter(write_key_hash=digest).first()


def source_by_write_key(*, write_key: str) -> Source | None:
    return source_by_key_hash(digest=write_key_digest(write_key))


def source_list() -> QuerySet[Source]:
    return Source.objects.order_by("name")


def source_event_counts(*, source: Source) -> list[dict]:
    """Stored events of a source per type and name, most frequent first (one query)."""
    return list(
        Event.objects.filter(source=source)
        .values("type", "name")
        .annotate(total=Count("id"))
        .order_by("-total", "type", "name")[:25]
    )


def source_recent_errors(*, source: Source, limit: int = 20) -> QuerySet[IngestError]:
    return (
        IngestError.objects.filter(source=source)
        .select_related("batch")
        .order_by("-created_at", "-id")[:limit]
    )


def source_recent_events(*, source: Source, limit: int = 10) -> list[Event]:
    """The latest events stored for the source (by arrival, which the primary key follows), shown newest
    first by the time they happened: a late or clock-skewed batch does not jumble the list."""
    events = list(
        Event.objects.filter(source=source)
        .only("id", "type", "name", "user_id", "anonymous_id", "timestamp", "received_at", "message_id")
        .order_by("-id")[:limit]
    )
    return sorted(events, key=lambda event: (event.timestamp, event.pk), reverse=True)


def source_pending_batches(*, source: Source) -> int:
    return IngestBatch.objects.filter(source=source, processed_at__isnull=True).count()
