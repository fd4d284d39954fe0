"""Reads of the source pages: sources, recent errors and events, event counts, inbox health."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from ..models import Event, IngestBatch, IngestError, Source


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


def _failing() -> Q:
    # The condition of the ingestbatch_failing_idx partial index.
    return Q(attempts__gt=0, processed_at__isnull=True) | Q(failed_at__isnull=False)


def source_oldest_waiting(*, source: Source):
    """When the oldest batch still waiting in the source's inbox arrived (None when none waits)."""
    return (
        IngestBatch.objects.filter(source=source, processed_at__isnull=True)
        .order_by("received_at")
        .values_list("received_at", flat=True)
        .first()
    )


def source_failing_batches(*, source: Source, limit: int = 10) -> list[IngestBatch]:
    """The source's batches that failed: being retried on their own, or set aside with their reason."""
    return list(
        IngestBatch.objects.filter(_failing(), source=source)
        .only(
            "id", "kind", "received_at", "event_count", "attempts", "last_error", "failed_at", "processed_at"
        )
        .order_by("-received_at")[:limit]
    )


COUNT_CAP = 1000  # health counts stop here: the answer must not cost a scan of a large backlog


def inbox_health() -> dict:
    """The inbox as /healthz reports it: the oldest waiting batch, batches being retried, set aside."""
    now = timezone.now()
    oldest = (
        IngestBatch.objects.filter(processed_at__isnull=True)
        .order_by("received_at")
        .values_list("received_at", flat=True)
        .first()
    )
    waited = int((now - oldest).total_seconds()) if oldest else 0
    retrying = IngestBatch.objects.filter(attempts__gt=0, processed_at__isnull=True)[:COUNT_CAP].count()
    set_aside = IngestBatch.objects.filter(failed_at__gte=now - timedelta(days=1))[:COUNT_CAP].count()
    return {
        "ok": waited <= settings.INGEST_STUCK_AFTER_SECONDS,
        "oldest_waiting_seconds": waited,
        "retrying_batches": retrying,
        "set_aside_last_day": set_aside,
    }
