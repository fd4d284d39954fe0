"""Celery tasks of the ingestion pipeline (routed to the `ingest` queue)."""

from celery import shared_task
from django.db import IntegrityError, OperationalError

from .services import batch_process, batches_purge, batches_sweep
from .traits import computed_recompute_all


@shared_task(
    name="profiles.tasks.batch_process_task",
    ignore_result=True,
    autoretry_for=(OperationalError, IntegrityError),
    retry_backoff=True,
    max_retries=5,
)
def batch_process_task(batch_id: int) -> None:
    batch_process(batch_id=batch_id)


@shared_task(name="profiles.tasks.batches_sweep_task", ignore_result=True)
def batches_sweep_task() -> None:
    batches_sweep()


@shared_task(name="profiles.tasks.batches_purge_task", ignore_result=True)
def batches_purge_task() -> None:
    batches_purge()


@shared_task(name="profiles.tasks.computed_traits_recompute_task", ignore_result=True)
def computed_traits_recompute_task() -> None:
    """Windowed computed traits move with the clock even for profiles that send nothing new."""
    computed_recompute_all()
