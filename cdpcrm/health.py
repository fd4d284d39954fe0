"""Checks for /healthz (the database and the Celery broker critical; the ingest inbox and the workers
advisory) and /readyz (all of them critical: is anything consuming what the web processes accept?)."""

from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import Connection


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "unreachable"
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "vendor": connection.vendor}


def _broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "mode": "eager"}
    url = settings.CELERY_BROKER_URL
    try:
        # A fresh connection, not the app's pool: a pooled connection can hide a broker that just went away.
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # kombu raises transport-specific errors
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "mode": "broker", "transport": url.split(":", 1)[0]}


def _ingest() -> dict:
    from profiles.sources.selectors import inbox_health

    try:
        return inbox_health()
    except Exception as exc:  # the database check above reports the cause
        return {"ok": False, "error": exc.__class__.__name__}


def _workers() -> dict:
    """Beat's heartbeat task, run by a worker of the ingest queue every 30 s, is recent enough."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "mode": "eager"}
    from .models import WorkerHeartbeat
    from .tasks import HEARTBEAT_QUEUE

    try:
        beat_at = (
            WorkerHeartbeat.objects.filter(queue=HEARTBEAT_QUEUE).values_list("beat_at", flat=True).first()
        )
    except Exception as exc:  # the database check reports the cause
        return {"ok": False, "error": exc.__class__.__name__}
    if beat_at is None:
        return {"ok": False, "error": "no worker heartbeat yet (are the worker and beat running?)"}
    age = int((timezone.now() - beat_at).total_seconds())
    stale = age > settings.WORKER_STALE_AFTER_SECONDS
    found = {"ok": not stale, "last_heartbeat_seconds_ago": age}
    return {**found, "error": "the workers' heartbeat is stale"} if stale else found


def _backlog() -> dict:
    """No inbox batch has waited longer than the sweeper needs to re-enqueue it (and a worker to take it)."""
    from profiles.sources.selectors import inbox_health

    try:
        waited = inbox_health()["oldest_waiting_seconds"]
    except Exception as exc:  # the database check reports the cause
        return {"ok": False, "error": exc.__class__.__name__}
    limit = settings.INGEST_SWEEP_AFTER_SECONDS + SWEEP_PERIOD_SECONDS
    found = {"ok": waited <= limit, "oldest_waiting_seconds": waited, "limit_seconds": limit}
    return found if found["ok"] else {**found, "error": "inbox batches wait longer than a sweep"}


SWEEP_PERIOD_SECONDS = 30  # the beat period of profiles-sweep-inbox

# Failing these does not make /healthz a 503 (a load balancer would take the web process out of service,
# which helps nothing): the status says "degraded" and the check says why.
ADVISORY_CHECKS = frozenset({"ingest", "workers"})


def health_check() -> dict[str, dict]:
    return {"database": _database(), "broker": _broker(), "ingest": _ingest(), "workers": _workers()}


def readiness_check() -> dict[str, dict]:
    """Everything /readyz needs to be true: accepted events are being processed."""
    return {"database": _database(), "broker": _broker(), "workers": _workers(), "backlog": _backlog()}
