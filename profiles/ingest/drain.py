"""Drain a source's inbox: the drain-flag protocol, a claimed group stored in one transaction, isolation of what fails.

The flag: a request's commit queues a drain (batch_process_task) only if it can set its source's "drain
queued" flag (Redis SET NX, INGEST_DRAIN_FLAG_SECONDS; Django's cache without CACHE_URL; always "set" while
Redis is down, so each request then queues one). The task clears the flag before it claims, so a batch
committed before a request found the flag set is always seen by that task's claim; a full group queues
the next drain at once; a broker that refuses the task releases the flag (the sweeper re-enqueues).

A group is one transaction. Should it fail for any reason but an unreachable database, its batches are
counted as failed once and stored again at once in halves (each half a group of its own, a failing half
halved again); a single batch that still fails is split in halves of events (savepoints) down to the event
the database refuses, which is rejected with the reason while the rest is stored. So a poison event costs
the other batches of its source one failed attempt, never more. A batch that fails as a whole
INGEST_MAX_ATTEMPTS times is set aside with its reason (`failed_at`).
"""

import logging
import os
import time
from dataclasses import dataclass
from functools import partial

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, connection, transaction
from django.db.models import F

from .. import cache_redis
from ..models import IngestBatch, Profile, Source
from ..signals import profiles_changed
from ..unify.traits import profiles_touch
from . import store
from .claim import claim_batch, claim_more, claim_next_of_source
from .normalize import NormalizedEvent
from .pipeline import batch_parse, events_store, group_record
from .poison import TRANSIENT_ERRORS, batch_set_aside, error_reason, store_halving

logger = logging.getLogger(__name__)

TOUCH_ATTEMPTS = 3  # the short second transaction of a group, before leaving it to the sweeper


def _flag_key(source_id: int) -> str:
    return f"cdp:ingest:drain-queued:{source_id}"


def drain_flag_set(source_id: int, *, ttl: int) -> bool:
    """Mark a drain of this source's inbox as queued; False when one already is (True when Redis is down:
    one drain per request then, which a drain finding its batches done costs little)."""
    try:
        client = cache_redis.client()
        if client is None:
            return cache.add(_flag_key(source_id), 1, timeout=ttl)
        return bool(client.set(_flag_key(source_id), 1, ex=ttl, nx=True))
    except cache_redis.CacheDown:
        return True
    except cache_redis.RedisError as error:
        cache_redis.failed(error)
        return True


def drain_flag_clear(source_id: int) -> None:
    try:
        client = cache_redis.client()
        if client is None:
            cache.delete(_flag_key(source_id))
        else:
            client.delete(_flag_key(source_id))
    except cache_redis.CacheDown:
        pass
    except cache_redis.RedisError as error:
        cache_redis.failed(error)


def drain_enqueue(batch_id: int, source_id: int | None = None, *, wait: bool = True) -> None:
    """Queue the processing of a batch; with `source_id`, only if no drain of that source is queued yet.

    A queued task processes every waiting batch of its source (batch_process with `more`), so under load
    one task per drain replaces one task per request. The task clears the flag before it claims batches:
    a batch committed before a request found the flag set is always seen by that task's claim.
    """
    from .tasks import batch_process_task

    if source_id is not None and not drain_flag_set(source_id, ttl=settings.INGEST_DRAIN_FLAG_SECONDS):
        return
    try:
        # A drain waits a moment so that a trickle of small requests is processed as one group.
        delay = settings.INGEST_DRAIN_DELAY_MS / 1000 if source_id is not None and wait else 0
        batch_process_task.apply_async((batch_id, source_id), countdown=delay or None)
    except Exception:
        # The batch is stored; the sweeper re-enqueues it once the broker is back.
        logger.exception("could not enqueue ingest batch %s; the sweeper will retry", batch_id)
        if source_id is not None:
            drain_flag_clear(source_id)


def drain_run(*, batch_id: int, source_id: int | None) -> None:
    """The queued drain (batch_process_task): clear the source's flag first, so that a request arriving
    from now on queues the next drain, then claim this batch and the waiting ones behind it."""
    if source_id is not None:
        drain_flag_clear(source_id)
    batch_process(batch_id=batch_id, more=settings.INGEST_GROUP_BATCHES - 1)


@dataclass
class BatchResult:
    accepted: int
    duplicates: int
    rejected: int
    profile_ids: list[int]
    batches: int = 1


def _test_delay() -> None:
    """Slow processing down for the worker-kill test; honoured only against a pytest database."""
    delay = os.environ.get("INGEST_TEST_DELAY_SECONDS")
    if delay and connection.settings_dict["NAME"].startswith("test_"):
        time.sleep(float(delay))


def _announce(touched: list[int], merged_away: list[int], stored) -> None:
    if touched or merged_away:
        since = min((event.timestamp for event in stored.new_events), default=None)
        transaction.on_commit(
            lambda: profiles_changed.send(
                sender=Profile, profile_ids=touched, merged_profile_ids=merged_away, events_since=since
            )
        )


def batch_process(*, batch_id: int, more: int = 0) -> BatchResult | None:
    """Normalise, resolve and store the events of an inbox batch; a fixed number of queries per call.

    With `more`, up to that many other waiting batches of the same source are claimed and processed in the
    same transaction (the worker does this under load; see INGEST_GROUP_BATCHES). Returns None when the
    batch is already processed or another worker holds it. Idempotent: events are unique per (source,
    messageId), so processing the same batch again adds nothing. A group that fails is isolated at once
    (module docstring); only an unreachable database makes this raise, and the task retries.
    """
    held: list[int] = []  # the claimed group, then its source's id last
    try:
        result = _group_process(batch_id=batch_id, more=more, held=held)
    except Exception as error:
        if not held:
            raise
        source_id = held.pop()
        try:
            return _group_isolate(batch_ids=held, error=error)
        finally:
            _continue(source_id, more)
    if result is _FAILED_BEFORE:
        source_id = held.pop()
        try:
            return _batches_isolated(batch_ids=held)
        finally:
            _continue(source_id, more)
    return result


def _continue(source_id: int, more: int) -> None:
    """After isolating, queue the source's next drain (unless one is queued): the batches behind a failed
    group must not wait for the sweeper. Its claim prefers batches that never failed."""
    if more > 0 and store.concurrent_writers():
        next_batch = (
            IngestBatch.objects.filter(source_id=source_id, processed_at__isnull=True)
            .values_list("pk", flat=True)
            .first()
        )
        if next_batch is not None:
            drain_enqueue(next_batch, source_id, wait=False)


_FAILED_BEFORE = object()


def _group_process(*, batch_id: int, more: int, held: list[int]):
    with transaction.atomic():
        batch = claim_batch(batch_id)
        if batch is None and more > 0 and store.concurrent_writers():
            # Processed along with an earlier one: this task still drains what its source has waiting.
            batch = claim_next_of_source(batch_id)
        if batch is None:
            return None
        if batch.attempts:
            held += [batch.pk, batch.source_id]
            return _FAILED_BEFORE  # on its own, outside this transaction
        _test_delay()
        source = batch.source
        claimed, more_waiting = claim_more(batch, limit=more)
        group = [batch, *claimed]
        held += [member.pk for member in group] + [source.pk]
        if more_waiting:
            # More batches wait behind this group, and their requests may have found a drain queued: queue
            # the next drain now, so another worker process claims them (SKIP LOCKED passes over this group)
            # while this one works. Inline (eager) tasks would run inside this transaction: after it.
            continue_drain = partial(drain_enqueue, batch.pk, source.pk, wait=False)
            if current_app.conf.task_always_eager:
                transaction.on_commit(continue_drain)
            else:
                continue_drain()
        stored, rejected, pending = _group_store(group=group, source=source, unlocked_ok=True)
    touched = stored.touched
    if pending:
        touched = sorted(
            {
                *touched,
                *_pending_touch(batch, pending, stored.new_events, stored.resolution.profile_ids, source),
            }
        )
    _announce(touched, sorted(stored.resolution.merged), stored)
    return BatchResult(
        accepted=len(stored.new_events),
        duplicates=stored.duplicates,
        rejected=rejected,
        profile_ids=touched,
        batches=len(group),
    )


def _attempt_record(batch_ids: list[int], error: BaseException) -> None:
    """Count a failed attempt on these batches (its own statement, after the rollback); raises when the
    database is unreachable, so the task retries instead of judging any event."""
    IngestBatch.objects.filter(pk__in=batch_ids, processed_at__isnull=True).update(
        attempts=F("attempts") + 1, last_error=error_reason(error)
    )


def _group_store(*, group: list[IngestBatch], source: Source, unlocked_ok: bool):
    """Parse, store and record claimed batches in the caller's transaction: (stored, rejected, pending)."""
    parsed = [batch_parse(member, source) for member in group]
    stored = events_store(
        source=source, parts=[(part.batch.pk, part.events) for part in parsed], unlocked_ok=unlocked_ok
    )
    pending = sorted(stored.resolution.unlocked)
    rejected = group_record(
        source=source,
        group=group,
        rejections={part.batch.pk: part.rejections for part in parsed},
        stored=stored,
        pending=pending,
    )
    return stored, rejected, pending


def _group_isolate(*, batch_ids: list[int], error: BaseException) -> BatchResult | None:
    logger.warning(
        "ingest group of %d batches (first %s) failed, storing it again in halves: %s",
        len(batch_ids),
        batch_ids[0],
        error_reason(error),
        exc_info=not isinstance(error, TRANSIENT_ERRORS),
    )
    _attempt_record(batch_ids, error)
    return _halves_process(batch_ids=batch_ids)


def _combined(results: list[BatchResult | None]) -> BatchResult | None:
    results = [result for result in results if result is not None]
    if not results:
        return None
    return BatchResult(
        accepted=sum(r.accepted for r in results),
        duplicates=sum(r.duplicates for r in results),
        rejected=sum(r.rejected for r in results),
        profile_ids=sorted({pk for r in results for pk in r.profile_ids}),
        batches=sum(r.batches for r in results),
    )


def _halves_process(*, batch_ids: list[int]) -> BatchResult | None:
    """A failed group's batches: each half stored again as a group of its own, a half that fails halved
    again, down to single batches (then event by event). The batches without the poison are stored in a
    few groups instead of one transaction each. Raises a database error once every half was tried."""
    if len(batch_ids) == 1:
        return _batches_isolated(batch_ids=batch_ids)
    middle = len(batch_ids) // 2
    results: list[BatchResult | None] = []
    failure: BaseException | None = None
    for half in (batch_ids[:middle], batch_ids[middle:]):
        try:
            results.append(_listed_group_process(batch_ids=half))
            continue
        except Exception:  # noqa: S110 - the poison is in this half: split it further
            pass
        try:
            results.append(_halves_process(batch_ids=half))
        except TRANSIENT_ERRORS as error:
            failure = error
    if failure is not None:
        raise failure
    return _combined(results)


def _listed_group_process(*, batch_ids: list[int]) -> BatchResult | None:
    """These waiting batches as one group (those another worker holds are passed over)."""
    with transaction.atomic():
        group = list(
            IngestBatch.objects.select_related("source")
            .filter(pk__in=batch_ids, processed_at__isnull=True)
            .order_by("received_at", "pk")
            .select_for_update(skip_locked=True, of=("self",))
        )
        if not group:
            return None
        stored, rejected, _ = _group_store(group=group, source=group[0].source, unlocked_ok=False)
    _announce(stored.touched, sorted(stored.resolution.merged), stored)
    return BatchResult(
        accepted=len(stored.new_events),
        duplicates=stored.duplicates,
        rejected=rejected,
        profile_ids=stored.touched,
        batches=len(group),
    )


def _batches_isolated(*, batch_ids: list[int]) -> BatchResult | None:
    """Each batch in its own transaction. A batch that fails as a whole stays waiting with its attempt
    counted; once all have been tried a database error is raised again, so the task retries it."""
    results: list[BatchResult] = []
    failure: BaseException | None = None
    for batch_id in batch_ids:
        try:
            result = _batch_isolated(batch_id=batch_id)
        except Exception as error:  # counted on the batch; the others go on
            failure = error
            continue
        if result is not None:
            results.append(result)
    if isinstance(failure, TRANSIENT_ERRORS):
        raise failure  # the task's retry; otherwise the sweeper brings the batch back
    return _combined(results)


def _batch_isolated(*, batch_id: int) -> BatchResult | None:
    """One batch on its own; events the database refuses are found by halving and rejected one by one."""
    try:
        with transaction.atomic():
            batch = claim_batch(batch_id)
            if batch is None:
                return None
            source = batch.source
            parsed = batch_parse(batch, source)
            stored, refused = store_halving(source=source, batch=batch, events=parsed.events)
            rejected = group_record(
                source=source,
                group=[batch],
                rejections={batch.pk: parsed.rejections + refused},
                stored=stored,
            )
    except Exception as error:
        _attempt_record([batch_id], error)
        attempts = IngestBatch.objects.filter(pk=batch_id).values_list("attempts", flat=True).first() or 0
        if attempts < settings.INGEST_MAX_ATTEMPTS:
            logger.warning("ingest batch %s failed (attempt %s): %s", batch_id, attempts, error_reason(error))
            raise
        batch_set_aside(batch_id=batch_id, error=error)
        return None
    _announce(stored.touched, sorted(stored.resolution.merged), stored)
    return BatchResult(
        accepted=len(stored.new_events),
        duplicates=stored.duplicates,
        rejected=rejected,
        profile_ids=stored.touched,
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
        except Exception:  # the events are stored; the sweeper's full refresh takes over
            logger.exception("folding ingest batch %s failed; left for the sweeper", batch.pk)
            break
    return pending
