"""gunicorn settings, read automatically when gunicorn starts in this directory (`gunicorn cdpcrm.wsgi`).

Threads let one process keep many keep-alive connections (browsers and tracking libraries hold them open).
Command-line flags override these; the environment sets the defaults.
"""

import os
import sys

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 2))
threads = int(os.environ.get("WEB_THREADS", 4))
keepalive = int(os.environ.get("WEB_KEEPALIVE_SECONDS", 5))
# Python hands the GIL over every 5 ms by default: a thread whose database or Redis reply has arrived can
# wait that long behind another request's CPU work, several times per request. A shorter interval keeps
# /v1/track latency low when the threads of a process are busy (see docs/benchmarks.md).
switch_interval = float(os.environ.get("WEB_SWITCH_INTERVAL", "0.0005"))


def post_worker_init(worker) -> None:
    sys.setswitchinterval(switch_interval)
