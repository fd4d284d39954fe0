"""A real Celery worker for a bench's latency part, on the bench's own database and broker."""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def worker_start(*, celery_app, queues: str, name: str) -> subprocess.Popen:
    """Purge the broker, start `celery worker` on `queues` (2 processes) and wait until it answers a ping."""
    celery_app.control.purge()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cdpcrm", "worker", "-Q", queues, "-c", "2", "-l", "WARNING"]
        + ["--without-gossip", "--without-mingle", "-n", f"{name}@%h"],
        cwd=ROOT,
        env=os.environ.copy(),
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not celery_app.control.ping(timeout=0.5):
        if time.monotonic() > deadline or worker.poll() is not None:
            raise RuntimeError("the celery worker did not start")
    return worker
