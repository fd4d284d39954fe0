"""Connector benchmark: 1,000 Shopify orders (and redeliveries of some) posted concurrently to the webhook URL.

Real gunicorn + Celery worker + PostgreSQL + Redis. Each order is signed like Shopify's (HMAC-SHA256 of the
body, base64) and posted to /v1/webhooks/<id>/shopify; a share of them is posted a second time under
another delivery id, as Shopify retries. Prints the HTTP accept rate and latency, and the end-to-end rate
(first POST until every Order Completed is stored and every batch processed), and checks that nothing was
lost and nothing stored twice.

    .venv/bin/python bench/connectors.py --orders 1000 --replays 100
Knobs: BENCH_DATABASE_URL (a scratch database, dropped and re-created), BENCH_BROKER_URL, --clients,
--web-workers, --worker-concurrency.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import secrets
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
from ingest import (
    DATABASE_URL,
    PY,
    ROOT,
    cpu_report,
    cpu_seconds,
    database_drop,
    database_recreate,
    free_port,
    manage,
    percentile,
    stack_env,
    start,
    stop,
    wait_http,
)

CUSTOMERS = 200


class Poster(threading.local):
    def __init__(self, port: int):
        self.port, self.conn = port, None

    def post(self, path: str, body: bytes, headers: dict) -> tuple[int, float]:
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            started = time.perf_counter()
            try:
                self.conn.request("POST", path, body=body, headers=headers)
                response = self.conn.getresponse()
                response.read()
                return response.status, time.perf_counter() - started
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def order(run: str, n: int) -> bytes:
    customer = 80_000 + n % CUSTOMERS
    return json.dumps(
        {
            "id": int(run, 16) % 10**9 * 10_000 + n,
            "name": f"#B{n}",
            "email": f"buyer{customer}@example.com",
            "created_at": "2026-11-30T10:00:00+01:00",
            "processed_at": "2026-11-30T10:00:00+01:00",
            "currency": "EUR",
            "total_price": "108.00",
            "subtotal_price": "99.00",
            "total_tax": "9.00",
            "financial_status": "paid",
            "customer": {
                "id": customer,
                "email": f"buyer{customer}@example.com",
                "first_name": "Bench",
                "last_name": str(customer),
                "updated_at": "2026-11-01T09:00:00+01:00",
            },
            "line_items": [
                {
                    "product_id": 1 + n % 40,
                    "variant_id": 7,
                    "sku": f"SKU-{n % 40}",
                    "title": "Sneaker",
                    "price": "49.50",
                    "quantity": 2,
                }
            ],
        }
    ).encode()


def scalar(conn, sql: str, *params) -> int:
    return conn.execute(sql, params).fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--replays", type=int, default=100, help="orders delivered a second time")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    args = parser.parse_args()
    env = stack_env()
    print(f"database {DATABASE_URL} (re-created)")
    database_recreate()
    processes: list[subprocess.Popen] = []
    secret = secrets.token_urlsafe(24)
    try:
        manage(env, "migrate", "--no-input", "-v0")
        source_id = int(
            manage(
                env,
                "shell",
                "--no-imports",
                "-c",
                "from profiles.sources.services import source_create; "
                "from profiles.connectors.services import connector_secret_set; "
                "s, _ = source_create(name='Shopify bench', kind='shopify'); "
                f"connector_secret_set(source=s, secret={secret!r}); print(s.pk)",
            )
            .strip()
            .splitlines()[-1]
        )
        port = free_port()
        processes.append(
            start(
                [
                    str(ROOT / ".venv/bin/gunicorn"),
                    "cdpcrm.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(args.web_workers),
                    "--worker-class",
                    "gthread",
                    "--threads",
                    str(args.web_threads),
                    "--log-level",
                    "warning",
                ],
                env,
            )
        )
        processes.append(
            start(
                [
                    PY,
                    "-m",
                    "celery",
                    "-A",
                    "cdpcrm",
                    "worker",
                    "-Q",
                    "ingest,default",
                    "-c",
                    str(args.worker_concurrency),
                    "-P",
                    "prefork",
                    "-l",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "-n",
                    f"bench-connectors-{port}@%h",
                ],
                env,
            )
        )
        wait_http(port)
        run = secrets.token_hex(4)
        bodies = [order(run, n) for n in range(args.orders)]
        jobs = [(body, f"{run}-{n}") for n, body in enumerate(bodies)]
        jobs += [
            (bodies[n], f"{run}-{n}-retry")
            for n in range(0, args.orders, max(1, args.orders // max(1, args.replays)))
        ][: args.replays]
        jobs.sort(key=lambda job: hashlib.sha256(job[1].encode()).digest())  # replays interleaved
        path = f"/v1/webhooks/{source_id}/shopify"
        poster = Poster(port)

        def send(job):
            body, delivery = job
            digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
            headers = {
                "Content-Type": "application/json",
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Hmac-Sha256": digest,
                "X-Shopify-Webhook-Id": delivery,
            }
            return poster.post(path, body, headers)

        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            send((order("0", 10**6), "warm-up"))
            time.sleep(2)
            events_before = scalar(conn, "SELECT count(*) FROM profiles_event")
            cpu_before = cpu_seconds()
            started = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                answers = list(pool.map(send, jobs))
            accepted_at = time.perf_counter()
            while scalar(
                conn, "SELECT count(*) FROM profiles_ingestbatch WHERE processed_at IS NULL"
            ) or scalar(conn, "SELECT count(*) FROM profiles_ingestbatch WHERE profiles_pending IS NOT NULL"):
                if time.perf_counter() - started > 600:
                    raise RuntimeError("the inbox did not drain within 10 minutes")
                time.sleep(0.1)
            finished = time.perf_counter()
            statuses = [status for status, _ in answers]
            latencies = [seconds * 1000 for _, seconds in answers]
            orders_stored = scalar(
                conn,
                "SELECT count(*) FROM profiles_event WHERE name = 'Order Completed' AND message_id LIKE %s",
                f"shopify-order-{int(run, 16) % 10**9}%",
            )
            distinct = scalar(
                conn,
                "SELECT count(DISTINCT message_id) FROM profiles_event WHERE name = 'Order Completed' AND message_id LIKE %s",
                f"shopify-order-{int(run, 16) % 10**9}%",
            )
            events = scalar(conn, "SELECT count(*) FROM profiles_event") - events_before
            deliveries = scalar(
                conn, "SELECT count(*) FROM connectors_webhookdelivery WHERE external_id LIKE %s", f"{run}-%"
            )
            profiles = scalar(
                conn,
                "SELECT count(*) FROM profiles_profile WHERE merged_into_id IS NULL AND traits->>'email' LIKE 'buyer%%'",
            )
        assert statuses.count(200) == len(jobs), f"non-200 answers: {sorted(set(statuses))}"
        print(
            f"posted {len(jobs):,} deliveries ({args.orders:,} orders + {len(jobs) - args.orders} redeliveries) "
            f"from {args.clients} clients"
        )
        print(
            f"  HTTP accept: {len(jobs) / (accepted_at - started):,.0f} deliveries/s; latency ms p50 "
            f"{percentile(latencies, 50):.1f}, p95 {percentile(latencies, 95):.1f}, p99 {percentile(latencies, 99):.1f}"
        )
        seconds = finished - started
        print(
            f"  end-to-end: {events:,} events ({orders_stored:,} Order Completed + identify calls) in {seconds:.1f} s "
            f"= {events / seconds:,.0f} events/s, {args.orders / seconds:,.0f} orders/s"
        )
        print(
            f"  check: deliveries logged {deliveries:,} of {len(jobs):,}; Order Completed stored {orders_stored:,} "
            f"({distinct:,} distinct) of {args.orders:,}; buyer profiles {profiles} of {CUSTOMERS}"
        )
        print(cpu_report(cpu_before, cpu_seconds(), seconds, "order", args.orders))
        ok = orders_stored == distinct == args.orders and deliveries == len(jobs) and profiles == CUSTOMERS
        print("  no loss, no duplicate" if ok else "  MISMATCH: see the counts above")
    finally:
        for process in reversed(processes):
            stop(process)
        database_drop()


if __name__ == "__main__":
    main()
