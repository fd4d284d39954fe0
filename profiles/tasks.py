"""Celery tasks of the ingestion pipeline (routed to the `ingest` queue)."""

from celery import shared_task
from django.db import IntegrityError, OperationalError

from .services import batch_process, batches_purge, batches_sweep


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
