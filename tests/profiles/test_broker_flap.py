"""A real `celery worker` on its own Redis broker survives the broker going away and coming back (stop/start
a few times while tasks run and are sent), and is still consuming afterwards."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection
from django.utils import timezone
from kombu import Connection

from profiles.models import IngestBatch

from .factories import make_source

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
FLAPS = 4
DOWN_SECONDS = 4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of the test's own (no persistence: a restart loses what was queued, like an outage)."""

    def __init__(self):
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="flap-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis():
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server on PATH (apt-get install redis-server)")
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.stop()
    shutil.rmtree(redis.dir, ignore_errors=True)


@pytest.fixture
def flap_worker(private_redis):
    """A real worker (prefork, 2 processes, the production settings) on the private broker; each ingest
    task takes a second, so messages are unacknowledged when the broker goes away."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": private_redis.url,
        "CACHE_URL": private_redis.url[:-1] + "1",
        "INGEST_TEST_DELAY_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    log = tempfile.NamedTemporaryFile(prefix="flap-worker-", suffix=".log", delete=False)  # noqa: SIM115
    node = f"flap-{os.getpid()}"
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cdpcrm", "worker", "-Q", "default,ingest", "-c", "2"]
        # As docs/operations.md runs it: gossip, mingle and remote control on (their channels are closed
        # and reopened on every reconnection too).
        + ["-n", f"{node}@%h", "-l", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert _ready(Path(log.name), within=60), "the worker did not start"
        yield process, Path(log.name)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def _client_app(url: str) -> Celery:
    """A Celery client with the project's settings on the private broker (the suite's app has its own)."""
    client = Celery("flap-client")
    client.config_from_object("django.conf:settings", namespace="CELERY")
    client.conf.update(broker_url=url, task_always_eager=False, broker_connection_retry=False)
    client.conf.changes["CELERY_TASK_ALWAYS_EAGER"] = False
    client.conf.changes["CELERY_BROKER_URL"] = url
    return client


def _ready(log: Path, *, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if " ready." in log.read_text():
            return True
        time.sleep(0.2)
    return False


def _batch(source, n: int) -> IngestBatch:
    event = {"type": "track", "event": "Flap", "userId": f"flap-{n}", "messageId": f"flap-{n}"}
    now = timezone.now()
    return IngestBatch.objects.create(
        source=source,
        kind="batch",
        body=json.dumps({"batch": [event]}),
        received_at=now,
        event_count=1,
        enqueued_at=now,
    )


def _send(url: str, batch: IngestBatch) -> bool:
    """Enqueue the batch's processing on the private broker; False while the broker is down."""
    client = _client_app(url)
    try:
        with Connection(url, connect_timeout=0.5) as conn:
            client.send_task(
                "profiles.tasks.batch_process_task",
                args=[batch.pk, batch.source_id],
                connection=conn,
                retry=False,
            )
        return True
    except Exception:  # noqa: BLE001 - kombu raises the transport's errors while the broker is down
        return False


def test_the_worker_survives_broker_flaps_and_keeps_consuming(private_redis, flap_worker):
    process, log = flap_worker
    sources = [make_source()[0] for _ in range(6)]
    sent = 0
    for flap in range(FLAPS):
        for source in sources:  # a second of work each: two run, the rest wait in the queue
            _send(private_redis.url, _batch(source, sent))
            sent += 1
        time.sleep(1.5)  # the worker holds unacknowledged messages now
        private_redis.stop()
        for source in sources[:2]:  # clients keep sending during the outage (and fail)
            assert not _send(private_redis.url, _batch(source, sent))
            sent += 1
        time.sleep(DOWN_SECONDS)
        private_redis.start()
        time.sleep(2)
        assert process.poll() is None, f"the worker exited after flap {flap + 1}:\n{log.read_text()[-3000:]}"

    after = _batch(sources[0], sent)
    assert _send(private_redis.url, after)
    deadline = time.monotonic() + 90  # reconnecting backs off up to a few seconds
    while time.monotonic() < deadline and not IngestBatch.objects.get(pk=after.pk).processed_at:
        time.sleep(0.5)
    assert IngestBatch.objects.get(pk=after.pk).processed_at, log.read_text()[-3000:]
    assert process.poll() is None
    assert "Unrecoverable error" not in log.read_text()
