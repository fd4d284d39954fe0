"""Store the events of claimed inbox batches: parse, deduplicate, resolve, insert, fold traits, record."""

from collections import Counter
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from ..models import Event, IngestBatch, IngestError, Source
from ..unify.identity import Resolution, batch_resolve
from ..unify.traits import profiles_apply
from . import store
from .clean import json_clean, text_needs_cleaning
from .normalize import NormalizedEvent, Rejection, RequestInfo, normalize_body

EVENT_COLUMNS = (
    "source_id",
    "batch_id",
    "profile_id",
    "message_id",
    "type",
    "name",
    "category",
    "user_id",
    "anonymous_id",
    "group_id",
    "previous_id",
    "timestamp",
    "original_timestamp",
    "sent_at",
    "received_at",
    "properties",
    "traits",
    "context",
    "integrations",
)


def events_insert(
    *, source_id: int, events: list[NormalizedEvent], batch_ids: dict[str, int], profile_ids: dict[str, int]
):
    """One bulk write of the new events of a group of batches (`batch_ids`: messageId -> its batch).

    PostgreSQL gets a COPY (several times cheaper than a parameterised INSERT of the same rows). Events were
    filtered against stored messageIds just before; if a concurrent batch stored one of them since, the
    unique constraint aborts this transaction and the group is processed again batch by batch.
    """
    rows = [
        (
            source_id,
            batch_ids[e.message_id],
            profile_ids.get(e.message_id),
            e.message_id,
            e.type,
            e.name,
            e.category,
            e.user_id,
            e.anonymous_id,
            e.group_id,
            e.previous_id,
            e.timestamp,
            e.original_timestamp,
            e.sent_at,
            e.received_at,
            e.properties,
            e.traits,
            e.context,
            e.integrations,
        )
        for e in events
    ]
    if not rows:
        return
    if connection.vendor == "postgresql":
        json_at = range(len(EVENT_COLUMNS) - 4, len(EVENT_COLUMNS))
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY profiles_event ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(
                        [store.json_text(value) if i in json_at else value for i, value in enumerate(row)]
                    )
        return
    Event.objects.bulk_create(
        [Event(**dict(zip(EVENT_COLUMNS, row, strict=True))) for row in rows], ignore_conflicts=True
    )


def _message_ids_existing(*, source_id: int, message_ids: list[str]) -> set[str]:
    if not message_ids:
        return set()
    if connection.vendor == "postgresql":
        return store.event_message_ids_existing(source_id=source_id, message_ids=message_ids)
    return set(
        Event.objects.filter(source_id=source_id, message_id__in=message_ids).values_list(
            "message_id", flat=True
        )
    )


@dataclass
class Parsed:
    batch: IngestBatch
    events: list[NormalizedEvent]
    rejections: list[Rejection]


def batch_parse(batch: IngestBatch, source: Source) -> Parsed:
    """The batch's events, normalised, with the rejected ones; strings PostgreSQL refuses are cleaned."""
    info = RequestInfo(
        received_at=batch.received_at,
        request_id=batch.request_id,
        client_ip=batch.client_ip,
        user_agent=batch.user_agent,
        browser_source=source.is_browser,
    )
    try:
        body = store.json_parse(batch.body)
    except (ValueError, RecursionError):
        body = {}
    if text_needs_cleaning(batch.body):
        body = json_clean(body)
    events, rejections = normalize_body(
        kind=batch.kind, body=body if isinstance(body, dict) else {}, info=info, body_size=len(batch.body)
    )
    return Parsed(batch, events, rejections)


@dataclass
class Stored:
    """What one store of events did: the new events, the batch owning each messageId, the profiles."""

    new_events: list[NormalizedEvent] = field(default_factory=list)
    batch_of: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    resolution: Resolution = field(default_factory=Resolution)
    touched: list[int] = field(default_factory=list)

    def add(self, other: "Stored") -> None:
        self.new_events += other.new_events
        self.batch_of.update(other.batch_of)
        self.duplicates += other.duplicates
        self.resolution.profile_ids.update(other.resolution.profile_ids)
        self.resolution.merged.update(other.resolution.merged)
        self.touched = sorted({*self.touched, *other.touched})


def events_store(
    *, source: Source, parts: list[tuple[int, list[NormalizedEvent]]], unlocked_ok: bool
) -> Stored:
    """Deduplicate, resolve, insert and fold the events of (batch id, events) parts; a fixed number of
    queries whatever their number. A messageId counts once per source: the first part carrying it owns it."""
    stored = Stored()
    candidates: list[NormalizedEvent] = []
    seen = 0
    for batch_id, events in parts:
        seen += len(events)
        for event in events:
            if event.message_id not in stored.batch_of:
                stored.batch_of[event.message_id] = batch_id
                candidates.append(event)
    existing = _message_ids_existing(source_id=source.pk, message_ids=list(stored.batch_of))
    stored.new_events = [event for event in candidates if event.message_id not in existing]
    stored.duplicates = seen - len(stored.new_events)
    stored.resolution = batch_resolve(events=stored.new_events, source_id=source.pk, unlocked_ok=unlocked_ok)
    events_insert(
        source_id=source.pk,
        events=stored.new_events,
        batch_ids=stored.batch_of,
        profile_ids=stored.resolution.profile_ids,
    )
    stored.touched = profiles_apply(
        events=stored.new_events, resolution=stored.resolution, source_name=source.name
    )
    return stored


def group_record(
    *,
    source: Source,
    group: list[IngestBatch],
    rejections: dict[int, list[Rejection]],
    stored: Stored,
    pending: list[int] | None = None,
) -> int:
    """Mark the group's batches processed with their counts, write the rejected events and the source's
    counters; returns how many events were rejected. `pending` goes on the group's first batch."""
    now = timezone.now()
    errors = [
        IngestError(
            source_id=source.pk,
            batch_id=batch_id,
            position=r.position,
            message_id=r.message_id,
            reason=r.reason,
            excerpt=r.excerpt,
            created_at=now,
        )
        for batch_id, batch_rejections in rejections.items()
        for r in batch_rejections
    ]
    if errors:
        IngestError.objects.bulk_create(errors)
    accepted_per_batch = Counter(stored.batch_of[event.message_id] for event in stored.new_events)
    for batch in group:
        batch.processed_at = now
        batch.accepted_count = accepted_per_batch.get(batch.pk, 0)
        batch.rejected_count = len(rejections.get(batch.pk, ()))
        batch.profiles_pending = None
    group[0].profiles_pending = pending or None
    store.bulk_update(group, ["processed_at", "accepted_count", "rejected_count", "profiles_pending"])
    latest = max((e.received_at for e in stored.new_events), default=group[0].received_at)
    Source.objects.filter(pk=source.pk).update(
        events_accepted=F("events_accepted") + len(stored.new_events),
        events_rejected=F("events_rejected") + len(errors),
        last_event_at=Greatest(F("last_event_at"), latest) if connection.vendor == "postgresql" else latest,
    )
    return len(errors)
