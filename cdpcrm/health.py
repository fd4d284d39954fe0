"""Checks for /healthz: the database and the Celery broker (critical), and the ingest inbox (advisory)."""

from django.conf import settings
from django.db import connection
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


# Failing these does not make /healthz a 503 (a load balancer would take the web process out of service,
# which helps nothing): the status says "degraded" and the check says why.
ADVISORY_CHECKS = frozenset({"ingest"})


def health_check() -> dict[str, dict]:
    return {"database": _database(), "broker": _broker(), "ingest": _ingest()}
