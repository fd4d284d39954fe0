"""Store the events of claimed inbox batches: parse, deduplicate, resolve, insert, fold traits, record."""

from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone

from ..models import IngestBatch, IngestError, Source
from ..unify.resolution import Resolution, batch_resolve
from ..unify.traits import profiles_apply
from . import store
from .clean import json_clean, text_needs_cleaning
from .normalize import NormalizedEvent, Rejection, RequestInfo, normalize_body


def events_insert(
    *, source_id: int, events: list[NormalizedEvent], batch_ids: dict[str, int], profile_ids: dict[str, int]
):
    """One bulk write of the new events of a group of batches (`batch_ids`: messageId -> its batch).

    Events were filtered against stored messageIds just before; if a concurrent batch stored one of them
    since, the unique constraint aborts this transaction and the group is processed again batch by batch.
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
    store.events_write(rows)


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
    existing = store.event_message_ids_existing(source_id=source.pk, message_ids=list(stored.batch_of))
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
    store.source_counters_add(
        source_id=source.pk, accepted=len(stored.new_events), rejected=len(errors), latest=latest
    )
    return len(errors)
