"""Celery tasks of the ingestion pipeline (routed to the `ingest` queue)."""

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, OperationalError

from ..sources.services import batches_purge
from ..tracking import cache as tracking_cache
from ..unify.traits import computed_recompute_all
from .drain import batch_process
from .sweep import batches_sweep, pending_profiles_refresh


@shared_task(
    name="profiles.tasks.batch_process_task",
    ignore_result=True,
    autoretry_for=(OperationalError, IntegrityError),
    retry_backoff=True,
    max_retries=5,
)
def batch_process_task(batch_id: int, source_id: int | None = None) -> None:
    """Process this batch and, in the same transaction, the waiting batches of its source behind it."""
    if source_id is not None:
        tracking_cache.drain_flag_clear(source_id)  # before the claim: later requests queue the next drain
    batch_process(batch_id=batch_id, more=settings.INGEST_GROUP_BATCHES - 1)


@shared_task(name="profiles.tasks.batches_sweep_task", ignore_result=True)
def batches_sweep_task() -> None:
    """Re-enqueue batches nobody processed; refresh profiles a killed worker left unfolded."""
    batches_sweep()
    pending_profiles_refresh()


@shared_task(name="profiles.tasks.batches_purge_task", ignore_result=True)
def batches_purge_task() -> None:
    batches_purge()


@shared_task(name="profiles.tasks.computed_traits_recompute_task", ignore_result=True)
def computed_traits_recompute_task() -> None:
    """Windowed computed traits move with the clock even for profiles that send nothing new."""
    computed_recompute_all()
