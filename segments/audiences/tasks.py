"""Celery tasks of audience destinations (queue "activation")."""

from celery import shared_task

from . import services


@shared_task(name="segments.audiences.tasks.audience_sync_task", ignore_result=True)
def audience_sync_task(destination_id: int) -> None:
    services.destination_sync(destination_id=destination_id)


@shared_task(name="segments.audiences.tasks.audiences_sync_due_task", ignore_result=True)
def audiences_sync_due_task() -> None:
    services.destinations_sync_due()
