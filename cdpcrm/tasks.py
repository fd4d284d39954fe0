"""Project-level Celery tasks: the workers' heartbeat (beat sends it to the ingest queue)."""

from celery import shared_task
from django.utils import timezone

from .models import WorkerHeartbeat

HEARTBEAT_QUEUE = "ingest"


@shared_task(name="cdpcrm.tasks.worker_heartbeat_task", ignore_result=True)
def worker_heartbeat_task() -> None:
    """Proves beat sends and a worker of the ingest queue consumes: /readyz fails when this row ages."""
    WorkerHeartbeat.objects.update_or_create(queue=HEARTBEAT_QUEUE, defaults={"beat_at": timezone.now()})
