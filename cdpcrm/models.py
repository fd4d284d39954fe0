"""Project-level rows: the workers' heartbeat that /readyz reads."""

from django.db import models


class WorkerHeartbeat(models.Model):
    """When a worker last ran the beat's heartbeat task from this queue (one row per queue)."""

    queue = models.CharField(max_length=50, primary_key=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.queue} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
