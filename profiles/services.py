"""Writes of the CDP ingestion: sources and keys, accepting requests into the inbox, processing batches."""

import logging
import os
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from celery import current_app
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import F, Q, Subquery
from django.db.models.functions import Greatest
from django.utils import timezone

from . import hotpath, pgsql
from .identity import batch_resolve
from .models import Event, IngestBatch, IngestError, Profile, Source
from .normalize import NormalizedEvent, RequestInfo, normalize_body
from .selectors import write_key_digest
from .signals import profiles_changed
from .traits import profiles_apply, profiles_refresh, profiles_touch

logger = logging.getLogger(__name__)

WRITE_KEY_PREFIX_LENGTH = 8


def _new_write_key() -> str:
    return secrets.token_urlsafe(24)


@transaction.atomic
def source_create(*, name: str, kind: str) -> tuple[Source, str]:
    """A new source and its write key; the key is returned once and only its hash is kept."""
    write_key = _new_write_key()
    source = Source(
        name=name.strip(),
        kind=kind,
        write_key_hash=write_key_digest(write_key),
        write_key_prefix=write_key[:WRITE_KEY_PREFIX_LENGTH],
        public_write_key=write_key if kind == Source.Kind.WEBSITE else "",
    )
    source.full_clean()
    source.save()
    return source, write_key


@transaction.atomic
def source_rotate_key(*, source: Source) -> str:
    """Replace the write key; the old key stops working at once."""
    write_key = _new_write_key()
    source.write_key_hash = write_key_digest(write_key)
    source.write_key_prefix = write_key[:WRITE_KEY_PREFIX_LENGTH]
    source.key_rotated_at = timezone.now()
    source.public_write_key = write_key if source.is_browser else ""
    source.save(
        update_fields=[
            "write_key_hash",
            "write_key_prefix",
            "public_write_key",
            "key_rotated_at",
            "updated_at",
        ]
    )
    return write_key


def source_update(
    *, source: Source, name: str | None = None, kind: str | None = None, enabled: bool | None = None
) -> Source:
    for field_name, value in (("name", name), ("kind", kind), ("enabled", enabled)):
        if value is not None:
            setattr(source, field_name, value.strip() if isinstance(value, str) else value)
    if not source.is_browser:
        source.public_write_key = ""  # no longer a website: its key is a secret again
    source.full_clean(exclude=["write_key_hash"])
    source.save(update_fields=["name", "kind", "enabled", "public_write_key", "updated_at"])
    return source


def source_set_enabled(*, source: Source, enabled: bool) -> Source:
    source.enabled = enabled
    source.save(update_fields=["enabled", "updated_at"])
    return source


def _enqueue(batch_id: int, source_id: int | None = None, *, wait: bool = True) -> None:
    """Queue the processing of a batch; with `source_id`, only if no drain of that source is queued yet.

    A queued task processes every waiting batch of its source (batch_process with `more`), so under load
    one task per drain replaces one task per request. The task clears the flag before it claims batches:
    a batch committed before a request found the flag set is always seen by that task's claim.
    """
    from .tasks import batch_process_task

    if source_id is not None and not hotpath.drain_flag_set(
        source_id, ttl=settings.INGEST_DRAIN_FLAG_SECONDS
    ):
        return
    try:
        # A drain waits a moment so that a trickle of small requests is processed as one group.
        delay = settings.INGEST_DRAIN_DELAY_MS / 1000 if source_id is not None and wait else 0
        batch_process_task.apply_async((batch_id, source_id), countdown=delay or None)
    except Exception:
        # The batch is stored; the sweeper re-enqueues it once the broker is back.
        logger.exception("could not enqueue ingest batch %s; the sweeper will retry", batch_id)
        if source_id is not None:
            hotpath.drain_flag_clear(source_id)


def batch_accept(*, source: Source, kind: str, body: str, event_count: int, info: RequestInfo) -> IngestBatch:
    """Store one accepted request in the durable inbox; processing is enqueued after the commit.

    Outside a transaction the INSERT commits by itself (one round trip) and the enqueue follows at once.
    """
    batch = IngestBatch.objects.create(
        source=source,
        kind=kind,
        body=body,
        request_id=info.request_id,
        received_at=info.received_at,
        client_ip=info.client_ip,
        user_agent=info.user_agent[:512],
        event_count=event_count,
        enqueued_at=info.received_at,
    )
    transaction.on_commit(lambda: _enqueue(batch.pk, source.pk))
    return batch


@dataclass
class BatchResult:
    accepted: int
    duplicates: int
    rejected: int
    profile_ids: list[int]
    batches: int = 1


TOUCH_ATTEMPTS = 3  # the short second transaction of a group, before leaving it to the sweeper
CLAIM_ROUNDS = 3  # attempts at filling a group past batches that other workers hold


def _claim(batch_id: int) -> IngestBatch | None:
    batches = IngestBatch.objects.select_related("source").filter(pk=batch_id, processed_at__isnull=True)
    if connection.features.has_select_for_update_skip_locked:
        batches = batches.select_for_update(skip_locked=True, of=("self",))
    return batches.first()


def _claim_next_of_source(batch_id: int) -> IngestBatch | None:
    """The oldest waiting batch of the same source as `batch_id`, for a task whose own batch is done."""
    source = IngestBatch.objects.filter(pk=batch_id).values("source_id")
    return (
        IngestBatch.objects.select_related("source")
        .filter(source_id=Subquery(source), processed_at__isnull=True)
        .order_by("received_at", "pk")
        .select_for_update(skip_locked=True, of=("self",))
        .first()
    )


def _claim_more(batch: IngestBatch, *, limit: int) -> tuple[list[IngestBatch], bool]:
    """Other waiting batches of the same source, oldest first, within the event budget, locked; and
    whether more are waiting beyond them.

    Processing them together spreads the fixed per-transaction work (locks, profile reads and writes,
    counters, the commit) over many events; their own queued tasks later find them done. The budget is
    applied to the waiting batches' sizes before locking, so batches past it are neither locked nor read.
    Batches another worker holds are passed over (SKIP LOCKED) and the budget goes to the next ones:
    a few rounds of two narrow queries. On SQLite (one writer, no row locks) batches go one at a time.
    """
    if limit <= 0 or not connection.features.has_select_for_update_skip_locked:
        return [], False
    waiting = (
        IngestBatch.objects.filter(source_id=batch.source_id, processed_at__isnull=True)
        .exclude(pk=batch.pk)
        .order_by("received_at", "pk")
    )
    budget = settings.INGEST_GROUP_EVENTS - batch.event_count
    claimed: list[IngestBatch] = []
    passed: list[int] = []  # held by other workers, or claimed by this one already
    more_waiting = False
    for _ in range(CLAIM_ROUNDS):
        room = limit - len(claimed)
        sizes = list(waiting.exclude(pk__in=passed).values_list("pk", "event_count")[: room + 1])
        chosen: list[int] = []
        for pk, size in sizes[:room]:
            if size > budget:
                break
            chosen.append(pk)
            budget -= size
        more_waiting = len(chosen) < len(sizes)
        if not chosen:
            break
        got = list(
            waiting.filter(pk__in=chosen)
            .select_for_update(skip_locked=True)
            .only(
                "id",
                "source_id",
                "kind",
                "body",
                "request_id",
                "received_at",
                "client_ip",
                "user_agent",
                "event_count",
            )
        )
        claimed += got
        passed += chosen
        if len(got) == len(chosen):
            break
        budget += sum(size for pk, size in sizes if pk in set(chosen) - {b.pk for b in got})
    return claimed, more_waiting


def _test_delay() -> None:
    """Slow processing down for the worker-kill test; honoured only against a pytest database."""
    delay = os.environ.get("INGEST_TEST_DELAY_SECONDS")
    if delay and connection.settings_dict["NAME"].startswith("test_"):
        time.sleep(float(delay))


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


def _events_insert(
    *, source_id: int, events: list[NormalizedEvent], batch_ids: dict[str, int], profile_ids: dict[str, int]
):
    """One bulk write of the new events of a group of batches (`batch_ids`: messageId -> its batch).

    PostgreSQL gets a COPY (several times cheaper than a parameterised INSERT of the same rows). Events were
    filtered against stored messageIds just before; if a concurrent batch stored one of them since, the
    unique constraint aborts this transaction and the task retries, skipping it the second time.
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
                        [pgsql.json_text(value) if i in json_at else value for i, value in enumerate(row)]
                    )
        return
    Event.objects.bulk_create(
        [Event(**dict(zip(EVENT_COLUMNS, row, strict=True))) for row in rows], ignore_conflicts=True
    )


def _message_ids_existing(*, source_id: int, message_ids: list[str]) -> set[str]:
    if not message_ids:
        return set()
    if connection.vendor == "postgresql":
        return pgsql.event_message_ids_existing(source_id=source_id, message_ids=message_ids)
    return set(
        Event.objects.filter(source_id=source_id, message_id__in=message_ids).values_list(
            "message_id", flat=True
        )
    )


@dataclass
class _Parsed:
    batch: IngestBatch
    events: list[NormalizedEvent]
    rejections: list


def _batch_parse(batch: IngestBatch, source: Source) -> _Parsed:
    info = RequestInfo(
        received_at=batch.received_at,
        request_id=batch.request_id,
        client_ip=batch.client_ip,
        user_agent=batch.user_agent,
        browser_source=source.is_browser,
    )
    try:
        body = pgsql.json_parse(batch.body)
    except ValueError:
        body = {}
    events, rejections = normalize_body(
        kind=batch.kind, body=body if isinstance(body, dict) else {}, info=info
    )
    return _Parsed(batch, events, rejections)


def batch_process(*, batch_id: int, more: int = 0) -> BatchResult | None:
    """Normalise, resolve and store the events of an inbox batch; a fixed number of queries per call.

    With `more`, up to that many other waiting batches of the same source are claimed and processed in the
    same transaction (the worker does this under load; see INGEST_GROUP_BATCHES). Returns None when the
    batch is already processed or another worker holds it. Idempotent: events are unique per (source,
    messageId), so processing the same batch again adds nothing.
    """
    with transaction.atomic():
        batch = _claim(batch_id)
        if batch is None and more > 0 and connection.features.has_select_for_update_skip_locked:
            # Processed along with an earlier one: this task still drains what its source has waiting.
            batch = _claim_next_of_source(batch_id)
        if batch is None:
            return None
        _test_delay()
        source = batch.source
        claimed, more_waiting = _claim_more(batch, limit=more)
        group = [batch, *claimed]
        if more_waiting:
            # More batches wait behind this group, and their requests may have found a drain queued: queue
            # the next drain now, so another worker process claims them (SKIP LOCKED passes over this group)
            # while this one works. Inline (eager) tasks would run inside this transaction: after it.
            continue_drain = partial(_enqueue, batch.pk, source.pk, wait=False)
            if current_app.conf.task_always_eager:
                transaction.on_commit(continue_drain)
            else:
                continue_drain()
        parsed = [_batch_parse(member, source) for member in group]

        # A messageId counts once per source: the first batch that carried it owns the event.
        batch_of: dict[str, int] = {}
        candidates: list[NormalizedEvent] = []
        for part in parsed:
            for event in part.events:
                if event.message_id not in batch_of:
                    batch_of[event.message_id] = part.batch.pk
                    candidates.append(event)
        existing = _message_ids_existing(source_id=source.pk, message_ids=list(batch_of))
        new_events = [event for event in candidates if event.message_id not in existing]
        resolution = batch_resolve(events=new_events, source_id=source.pk, unlocked_ok=True)
        _events_insert(
            source_id=source.pk, events=new_events, batch_ids=batch_of, profile_ids=resolution.profile_ids
        )
        touched = profiles_apply(events=new_events, resolution=resolution, source_name=source.name)
        merged_away = sorted(resolution.merged)
        pending = sorted(resolution.unlocked)
        now = timezone.now()
        errors = [
            IngestError(
                source_id=source.pk,
                batch=part.batch,
                position=r.position,
                message_id=r.message_id,
                reason=r.reason,
                excerpt=r.excerpt,
                created_at=now,
            )
            for part in parsed
            for r in part.rejections
        ]
        if errors:
            IngestError.objects.bulk_create(errors)
        accepted_per_batch = Counter(batch_of[event.message_id] for event in new_events)
        for part in parsed:
            part.batch.processed_at = now
            part.batch.accepted_count = accepted_per_batch.get(part.batch.pk, 0)
            part.batch.rejected_count = len(part.rejections)
            part.batch.profiles_pending = None
        batch.profiles_pending = pending or None
        pgsql.bulk_update(group, ["processed_at", "accepted_count", "rejected_count", "profiles_pending"])
        latest = max((e.received_at for e in new_events), default=batch.received_at)
        Source.objects.filter(pk=source.pk).update(
            events_accepted=F("events_accepted") + len(new_events),
            events_rejected=F("events_rejected") + len(errors),
            last_event_at=Greatest(F("last_event_at"), latest)
            if connection.vendor == "postgresql"
            else latest,
        )
    if pending:
        touched = sorted(
            {*touched, *_pending_touch(batch, pending, new_events, resolution.profile_ids, source)}
        )
    if touched or merged_away:
        transaction.on_commit(
            lambda: profiles_changed.send(sender=Profile, profile_ids=touched, merged_profile_ids=merged_away)
        )
    return BatchResult(
        accepted=len(new_events),
        duplicates=sum(len(part.events) for part in parsed) - len(new_events),
        rejected=len(errors),
        profile_ids=touched,
        batches=len(group),
    )


def _pending_touch(
    batch: IngestBatch,
    pending: list[int],
    events: list[NormalizedEvent],
    profile_of: dict[str, int],
    source: Source,
) -> list[int]:
    """The second, short transaction of a group: fold its events into the profiles resolved unlocked.

    The events are stored already; should this fail (a deadlock with a concurrent merge, a killed
    worker), the group's first batch keeps the list and the sweeper refreshes those profiles in full.
    """
    for attempt in range(TOUCH_ATTEMPTS):
        try:
            with transaction.atomic():
                # The batch row first: the sweeper passes over it while it is held, and once the sweeper
                # has refreshed these profiles (the list is gone) folding the group again would count twice.
                if (
                    not IngestBatch.objects.select_for_update()
                    .filter(pk=batch.pk, profiles_pending__isnull=False)
                    .exists()
                ):
                    return []
                touched = profiles_touch(
                    profile_ids=pending,
                    events=events,
                    profile_of=profile_of,
                    source_name=source.name,
                )
                IngestBatch.objects.filter(pk=batch.pk).update(profiles_pending=None)
            return touched
        except OperationalError:  # a deadlock with a concurrent merge's locks: try again at once
            if attempt == TOUCH_ATTEMPTS - 1:
                logger.warning("profiles of ingest batch %s left for the sweeper", batch.pk, exc_info=True)
    return pending


def pending_profiles_refresh(*, older_than_seconds: int | None = None, limit: int = 100) -> int:
    """Refresh the profiles that groups processed a while ago left unfolded; returns how many batches."""
    age = settings.INGEST_SWEEP_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timedelta(seconds=age)
    done = 0
    for batch_id in (
        IngestBatch.objects.filter(profiles_pending__isnull=False, processed_at__lte=cutoff)
        .order_by("processed_at")
        .values_list("pk", flat=True)[:limit]
    ):
        with transaction.atomic():
            batch = (
                IngestBatch.objects.select_for_update(skip_locked=connection.vendor == "postgresql")
                .filter(pk=batch_id, profiles_pending__isnull=False)
                .only("id", "profiles_pending")
                .first()
            )
            if batch is None:
                continue
            live = profiles_refresh(profile_ids=batch.profiles_pending)
            IngestBatch.objects.filter(pk=batch.pk).update(profiles_pending=None)
        transaction.on_commit(
            partial(profiles_changed.send, sender=Profile, profile_ids=live, merged_profile_ids=[])
        )
        done += 1
    return done


def batches_sweep(*, older_than_seconds: int | None = None, limit: int = 1000) -> int:
    """Re-enqueue inbox batches still unprocessed after a while (lost broker message, killed worker)."""
    age = settings.INGEST_SWEEP_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    now = timezone.now()
    cutoff = now - timedelta(seconds=age)
    stale = list(
        IngestBatch.objects.filter(processed_at__isnull=True, received_at__lte=cutoff)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=cutoff))
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not stale:
        return 0
    IngestBatch.objects.filter(pk__in=stale).update(enqueued_at=now)
    for batch_id in stale:
        _enqueue(batch_id)
    return len(stale)


def batches_purge(*, older_than_days: int | None = None) -> int:
    """Delete processed inbox batches (and their rejected-event rows) past the retention period."""
    days = settings.INGEST_BATCH_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    _, per_model = IngestBatch.objects.filter(processed_at__lt=cutoff).delete()
    return per_model.get(IngestBatch._meta.label, 0)


def request_info_now(
    *, client_ip: str | None, user_agent: str, browser_source: bool, request_id: str | None = None
) -> RequestInfo:
    return RequestInfo(
        received_at=timezone.now(),
        request_id=request_id or uuid.uuid4().hex,
        client_ip=client_ip,
        user_agent=user_agent,
        browser_source=browser_source,
    )
