"""Claim inbox batches for a drain: the batch a task names, else its source's next, and the waiting ones behind it.

On PostgreSQL claims are row locks taken with SKIP LOCKED, so workers pass over each other's groups; on
SQLite (one writer) a batch is claimed alone.
"""

from django.conf import settings
from django.db.models import Subquery

from ..models import IngestBatch
from . import store

CLAIM_ROUNDS = 3  # attempts at filling a group past batches that other workers hold


def claim_batch(batch_id: int) -> IngestBatch | None:
    batches = IngestBatch.objects.select_related("source").filter(pk=batch_id, processed_at__isnull=True)
    if store.concurrent_writers():
        batches = batches.select_for_update(skip_locked=True, of=("self",))
    return batches.first()


def claim_next_of_source(batch_id: int) -> IngestBatch | None:
    """The oldest waiting batch of the same source as `batch_id`, for a task whose own batch is done."""
    source = IngestBatch.objects.filter(pk=batch_id).values("source_id")
    return (
        IngestBatch.objects.select_related("source")
        .filter(source_id=Subquery(source), processed_at__isnull=True)
        .order_by("attempts", "received_at", "pk")  # batches that never failed first
        .select_for_update(skip_locked=True, of=("self",))
        .first()
    )


def claim_more(batch: IngestBatch, *, limit: int) -> tuple[list[IngestBatch], bool]:
    """Other waiting batches of the same source, oldest first, within the event budget, locked; and
    whether more are waiting beyond them.

    Processing them together spreads the fixed per-transaction work (locks, profile reads and writes,
    counters, the commit) over many events; their own queued tasks later find them done. The budget is
    applied to the waiting batches' sizes before locking, so batches past it are neither locked nor read.
    Batches another worker holds are passed over (SKIP LOCKED) and the budget goes to the next ones:
    a few rounds of two narrow queries. A batch that failed before is never grouped again. On SQLite (one
    writer, no row locks) batches go one at a time.
    """
    if limit <= 0 or not store.concurrent_writers():
        return [], False
    waiting = (
        IngestBatch.objects.filter(source_id=batch.source_id, processed_at__isnull=True, attempts=0)
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
