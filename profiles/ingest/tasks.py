"""Celery tasks of the ingestion pipeline (routed to the `ingest` queue)."""

from celery import shared_task
from django.db import IntegrityError, OperationalError

from .drain import drain_run
from .inbox import batches_purge
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
    drain_run(batch_id=batch_id, source_id=source_id)


@shared_task(name="profiles.tasks.batches_sweep_task", ignore_result=True)
def batches_sweep_task() -> None:
    """Re-enqueue batches nobody processed; refresh profiles a killed worker left unfolded."""
    batches_sweep()
    pending_profiles_refresh()


@shared_task(name="profiles.tasks.batches_purge_task", ignore_result=True)
def batches_purge_task() -> None:
    batches_purge()
