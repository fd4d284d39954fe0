"""/readyz: ready while a worker runs beat's heartbeat and the inbox drains; 503 naming what is stale.
The embedded mode (eager, no workers) is always ready; /healthz only reports the workers (advisory)."""

import datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from cdpcrm.models import WorkerHeartbeat
from cdpcrm.tasks import worker_heartbeat_task
from profiles.models import IngestBatch
from tests.profiles.factories import make_source

pytestmark = pytest.mark.django_db

# With a broker configured (production): the memory transport stands in for it, so the broker check passes.
WITH_WORKERS = override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="memory://localhost/")


def _waiting_batch(*, seconds: int) -> IngestBatch:
    when = timezone.now() - datetime.timedelta(seconds=seconds)
    return IngestBatch.objects.create(
        source=make_source()[0], kind="batch", body='{"batch": []}', received_at=when, enqueued_at=when
    )


@override_settings(CELERY_TASK_ALWAYS_EAGER=True)
def test_the_embedded_mode_is_ready_without_workers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["checks"]["workers"] == {"ok": True, "mode": "eager"}


@WITH_WORKERS
def test_ready_while_the_heartbeat_is_fresh(client):
    worker_heartbeat_task()
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["workers"]["last_heartbeat_seconds_ago"] <= 1


@WITH_WORKERS
def test_no_heartbeat_or_a_stale_one_is_not_ready(client):
    missing = client.get("/readyz")
    assert missing.status_code == 503 and missing.json()["status"] == "not_ready"
    assert "no worker heartbeat" in missing.json()["checks"]["workers"]["error"]

    WorkerHeartbeat.objects.create(queue="ingest", beat_at=timezone.now() - datetime.timedelta(minutes=5))
    stale = client.get("/readyz")
    assert stale.status_code == 503
    workers = stale.json()["checks"]["workers"]
    assert workers["ok"] is False and workers["last_heartbeat_seconds_ago"] >= 300
    # /healthz keeps the web processes in service and says why it is degraded.
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "degraded"
    assert health.json()["checks"]["workers"]["ok"] is False


@WITH_WORKERS
def test_inbox_batches_older_than_a_sweep_are_not_ready(client):
    worker_heartbeat_task()
    _waiting_batch(seconds=30)
    assert client.get("/readyz").status_code == 200  # waiting less than a sweep is normal
    _waiting_batch(seconds=600)
    response = client.get("/readyz")
    assert response.status_code == 503
    backlog = response.json()["checks"]["backlog"]
    assert backlog["ok"] is False and backlog["oldest_waiting_seconds"] >= 600
    assert backlog["limit_seconds"] == 90


def test_readyz_runs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    with WITH_WORKERS, django_assert_max_num_queries(5):
        client.get("/readyz")
