"""Ingestion benchmark: real gunicorn + Celery worker + PostgreSQL + Redis, events posted over HTTP.

Prints end-to-end events/s (first POST until every event is in the Event table and folded into its
profile), /v1/track accept latency p50/p95/p99 at a paced ~300 requests/s, and the rate of a raw
PostgreSQL COPY of the same rows into a scratch table, with the ratio. Then two poison runs of the same
size, each with one poison batch early among the others: NUL and lone surrogates (cleaned), and an event
the database refuses (a trigger stands in for any value cleaning cannot foresee; its group fails once and
is isolated). Their figure is the delay the poison adds: run time minus the clean run's, and how long the
batches of the failed group waited. CPU is counted for the processes it started and the servers it
talks to, by process id (bench/stack_cpu.py), and the load average is printed beside the latency.
Starts and stops everything it needs; runs in a few minutes.

    make bench-ingest            # or: .venv/bin/python bench/ingest.py --events 60000
Knobs: BENCH_DATABASE_URL (a scratch database, dropped and re-created), BENCH_BROKER_URL, --web-workers,
--worker-concurrency, --events, --rate, --seconds. The broker default (Redis db 14) is the one the profiles
worker tests use: never run both at once, their workers would consume each other's `ingest` tasks.
"""

import argparse
import base64
import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from base64 import b64encode
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from stack_cpu import StackCpu, cpu_report, load_average

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cdpcrm_bench_ingest")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14")
EVENTS_PER_BATCH = 100
STACK = StackCpu(database_url=DATABASE_URL, redis_url=BROKER_URL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def admin_dsn() -> tuple[str, str]:
    parts = urlsplit(DATABASE_URL)
    name = parts.path.lstrip("/")
    return parts._replace(path="/postgres").geturl(), name


def database_recreate() -> None:
    dsn, name = admin_dsn()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def database_drop() -> None:
    dsn, name = admin_dsn()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stack_env() -> dict:
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "MAIL_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "CACHE_URL": BROKER_URL,
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def manage(env: dict, *args: str) -> str:
    return subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


STACK_LOG: str | None = None  # set by --stack-log: gunicorn's and the worker's output go there


def start(cmd: list[str], env: dict) -> subprocess.Popen:
    output = open(STACK_LOG, "a") if STACK_LOG else subprocess.DEVNULL  # noqa: SIM115 (lives with the process)
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, start_new_session=True, stdout=output, stderr=subprocess.STDOUT
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_http(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not come up")


class Poster(threading.local):
    """One keep-alive connection per client thread."""

    def __init__(self, port: int, auth: str):
        self.port, self.auth, self.conn = port, auth, None

    def post(self, path: str, body: bytes) -> tuple[int, float]:
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            started = time.perf_counter()
            try:
                self.conn.request(
                    "POST",
                    path,
                    body=body,
                    headers={"Authorization": self.auth, "Content-Type": "application/json"},
                )
                response = self.conn.getresponse()
                response.read()
                return response.status, time.perf_counter() - started
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


TANGLED = False  # set by --tangled


def make_event(run: str, n: int) -> dict:
    # Realistic traffic: 5,000 shoppers, each always on the same device. `--tangled` pairs user and anonymous
    # ids so that almost every event ties two profiles (merges and two-user_id refusals): a worst case.
    return {
        "type": "track",
        "event": "Product Viewed",
        "messageId": f"{run}-{n}",
        "userId": f"user-{n % 5000}",
        "anonymousId": f"anon-{n % 7000}" if TANGLED else f"anon-{n % 5000}",
        "timestamp": "2025-05-01T12:00:00Z",
        "properties": {"product_id": f"SKU-{n % 300}", "price": 49.5, "currency": "EUR", "category": "shoes"},
        "context": {
            "library": {"name": "bench", "version": "1"},
            "locale": "en-GB",
            "page": {"url": "https://shop.example/p/1?utm_source=news&utm_medium=email"},
            "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36",
        },
    }


def events_stored(conn) -> int:
    return conn.execute("SELECT count(*) FROM profiles_event").fetchone()[0]


def folds_waiting(conn) -> int:
    """Groups whose events are stored but whose profiles' seen times and computed traits are not yet folded."""
    return conn.execute(
        "SELECT count(*) FROM profiles_ingestbatch WHERE profiles_pending IS NOT NULL"
    ).fetchone()[0]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def throughput_phase(port: int, auth: str, total: int, clients: int, conn) -> dict:
    run = uuid.uuid4().hex[:8]
    bodies = [
        json.dumps(
            {"batch": [make_event(run, b * EVENTS_PER_BATCH + i) for i in range(EVENTS_PER_BATCH)]}
        ).encode()
        for b in range(total // EVENTS_PER_BATCH)
    ]
    poster = Poster(port, auth)
    before = events_stored(conn)
    cpu_before = STACK.seconds()
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        statuses = list(pool.map(lambda body: poster.post("/v1/batch", body)[0], bodies))
    accepted_at = time.perf_counter()
    expected = before + len(bodies) * EVENTS_PER_BATCH
    while events_stored(conn) < expected or folds_waiting(conn):
        if time.perf_counter() - started > 600:
            raise RuntimeError("events did not all arrive within 10 minutes")
        time.sleep(0.1)
    finished = time.perf_counter()
    assert statuses.count(200) == len(bodies), f"non-200 answers: {set(statuses)}"
    return {
        "cpu": cpu_report(
            cpu_before, STACK.seconds(), finished - started, "event", len(bodies) * EVENTS_PER_BATCH
        ),
        "events": len(bodies) * EVENTS_PER_BATCH,
        "accept_seconds": accepted_at - started,
        "seconds": finished - started,
    }


POISON_TRIGGER = (
    "CREATE OR REPLACE FUNCTION bench_refuse() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'refused by the bench'; END $$",
    "CREATE TRIGGER bench_refuse BEFORE INSERT ON profiles_event FOR EACH ROW "
    "WHEN (NEW.name = 'Poison') EXECUTE FUNCTION bench_refuse()",
)


def poison_phase(port: int, auth: str, total: int, clients: int, conn, kind: str) -> dict:
    """The throughput run with one poison batch a third of the way in; `kind` "nul" or "refused"."""
    run = uuid.uuid4().hex[:8]
    batches = [
        [make_event(run, b * EVENTS_PER_BATCH + i) for i in range(EVENTS_PER_BATCH)]
        for b in range(total // EVENTS_PER_BATCH)
    ]
    poison = batches[len(batches) // 3]
    if kind == "nul":
        poison[0]["properties"] |= {"note\u0000": "a\u0000b", "name": "x\ud800"}
    else:
        poison[0]["event"] = "Poison"
        for statement in POISON_TRIGGER:
            conn.execute(statement)
    bodies = [json.dumps({"batch": batch}).encode() for batch in batches]
    poster = Poster(port, auth)
    before = events_stored(conn)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        statuses = list(pool.map(lambda body: poster.post("/v1/batch", body)[0], bodies))
    expected = before + len(bodies) * EVENTS_PER_BATCH - (kind == "refused")
    waiting = "SELECT count(*) FROM profiles_ingestbatch WHERE processed_at IS NULL"
    while events_stored(conn) < expected or folds_waiting(conn) or conn.execute(waiting).fetchone()[0]:
        if time.perf_counter() - started > 600:
            raise RuntimeError("events did not all arrive within 10 minutes")
        time.sleep(0.1)
    finished = time.perf_counter()
    if kind == "refused":
        conn.execute("DROP TRIGGER bench_refuse ON profiles_event")
    assert statuses.count(200) == len(bodies), f"non-200 answers: {set(statuses)}"
    waits = conn.execute(
        "SELECT attempts > 0, extract(epoch FROM max(processed_at - received_at)), "
        "extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY processed_at - received_at)), count(*) "
        "FROM profiles_ingestbatch WHERE received_at >= now() - make_interval(secs => %s) GROUP BY 1",
        [finished - started + 1],
    ).fetchall()
    by_failed = {failed: (longest, median, count) for failed, longest, median, count in waits}
    return {
        "events": len(bodies) * EVENTS_PER_BATCH,
        "seconds": finished - started,
        "failed_group": by_failed.get(True),
        "others": by_failed.get(False),
        "rejected": conn.execute("SELECT count(*) FROM profiles_ingesterror").fetchone()[0],
    }


def latency_phase(port: int, auth: str, rate: int, seconds: int, clients: int) -> dict:
    run = uuid.uuid4().hex[:8]
    count = rate * seconds
    bodies = [json.dumps(make_event(run, n)).encode() for n in range(count)]
    poster = Poster(port, auth)
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    cpu_before = STACK.seconds()
    started = time.perf_counter() + 0.2

    def send(n: int) -> None:
        delay = started + n / rate - time.perf_counter()  # open loop: requests leave on schedule
        if delay > 0:
            time.sleep(delay)
        status, elapsed = poster.post("/v1/track", bodies[n])
        with lock:
            latencies.append(elapsed)
            statuses.append(status)

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, range(count)))
    elapsed = time.perf_counter() - started
    achieved = count / elapsed
    return {
        "cpu": cpu_report(cpu_before, STACK.seconds(), elapsed, "request", count),
        "requests": count,
        "achieved_rate": achieved,
        "ok": statuses.count(200),
        "p50": percentile(latencies, 50) * 1000,
        "p95": percentile(latencies, 95) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "mean": statistics.fmean(latencies) * 1000,
        "load": load_average(),
    }


def copy_phase(conn, limit: int) -> dict:
    """COPY the stored rows (same columns and indexes as profiles_event, without FKs) into a scratch table."""
    columns = (
        "source_id, batch_id, profile_id, message_id, type, name, category, user_id, anonymous_id, "
        "group_id, previous_id, timestamp, original_timestamp, sent_at, received_at, properties, traits, "
        "context, integrations"
    )
    buffer = bytearray()
    with conn.cursor().copy(
        f"COPY (SELECT {columns} FROM profiles_event ORDER BY id LIMIT {limit}) TO STDOUT"
    ) as out:
        for chunk in out:
            buffer += chunk
    conn.execute("DROP TABLE IF EXISTS bench_copy_scratch")
    conn.execute(
        "CREATE TABLE bench_copy_scratch (LIKE profiles_event INCLUDING DEFAULTS INCLUDING INDEXES "
        "INCLUDING IDENTITY)"
    )
    conn.commit()
    started = time.perf_counter()
    with conn.cursor() as cursor:
        with cursor.copy(f"COPY bench_copy_scratch ({columns}) FROM STDIN") as copy:
            copy.write(bytes(buffer))
    conn.commit()
    seconds = time.perf_counter() - started
    rows = conn.execute("SELECT count(*) FROM bench_copy_scratch").fetchone()[0]
    conn.execute("DROP TABLE bench_copy_scratch")
    conn.commit()
    return {"rows": rows, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=int, default=300)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--tangled", action="store_true", help="identities that tie profiles on most events")
    parser.add_argument("--stack-log", help="append gunicorn's and the worker's output to this file")
    parser.add_argument("--no-poison", action="store_true", help="skip the two poison runs")
    args = parser.parse_args()
    global TANGLED, STACK_LOG
    TANGLED, STACK_LOG = args.tangled, args.stack_log

    env = stack_env()
    print(f"database {DATABASE_URL} (re-created), broker {BROKER_URL}, cpus {os.cpu_count()}")
    database_recreate()
    processes: list[subprocess.Popen] = []
    try:
        manage(env, "migrate", "--no-input", "-v0")
        key = manage(env, "source_create", "--name", "Bench", "--kind", "server").strip()
        auth = "Basic " + b64encode(f"{key}:".encode()).decode()
        subprocess.run(
            [PY, "-m", "celery", "-A", "cdpcrm", "purge", "-f", "-Q", "ingest"],
            cwd=ROOT,
            env=env,
            check=False,
            capture_output=True,
        )
        port = free_port()
        processes.append(
            web := start(
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
            worker := start(
                [
                    PY,
                    "-m",
                    "celery",
                    "-A",
                    "cdpcrm",
                    "worker",
                    "-Q",
                    "ingest",
                    "-c",
                    str(args.worker_concurrency),
                    "-P",
                    "prefork",
                    "-l",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "-n",
                    f"bench-{port}@%h",
                ],
                env,
            )
        )
        wait_http(port)
        STACK.add("web", web.pid)
        STACK.add("worker", worker.pid)
        with psycopg.connect(DATABASE_URL) as conn:
            conn.autocommit = True
            # Warm-up: imports, connections, ua-parser caches.
            throughput_phase(port, auth, 2000, args.clients, conn)
            result = throughput_phase(port, auth, args.events, args.clients, conn)
            rate = result["events"] / result["seconds"]
            print(
                f"end-to-end: {result['events']:,} events in {result['seconds']:.1f} s = {rate:,.0f} events/s "
                f"(HTTP accept of all batches took {result['accept_seconds']:.1f} s)"
            )
            print(result["cpu"])
            for kind in () if args.no_poison else ("nul", "refused"):
                poisoned = poison_phase(port, auth, args.events, args.clients, conn, kind)
                label = {"nul": "NUL + lone surrogates", "refused": "an event the database refuses"}[kind]
                line = (
                    f"poison run ({label}): {poisoned['events']:,} events in {poisoned['seconds']:.1f} s, "
                    f"{poisoned['seconds'] - result['seconds']:+.1f} s against the clean run"
                )
                if poisoned["failed_group"]:
                    longest, median, count = poisoned["failed_group"]
                    line += f"; the {count} batches of the failed group waited {median:.1f} s (median), {longest:.1f} s (max)"
                others = poisoned["others"]
                if others:
                    line += (
                        f"; the other {others[2]} batches {others[1]:.1f} s (median), {others[0]:.1f} s (max)"
                    )
                print(line + f"; rejected events so far: {poisoned['rejected']}")
            latency = latency_phase(port, auth, args.rate, args.seconds, max(args.clients, 16))
            print(
                f"/v1/track at {latency['achieved_rate']:.0f} req/s ({latency['ok']}/{latency['requests']} ok): "
                f"p50 {latency['p50']:.1f} ms, p95 {latency['p95']:.1f} ms, p99 {latency['p99']:.1f} ms; "
                f"{latency['load']}"
            )
            print(latency["cpu"])
            conn.autocommit = False
            copy = copy_phase(conn, result["events"])
            copy_rate = copy["rows"] / copy["seconds"]
            print(
                f"raw COPY: {copy['rows']:,} rows in {copy['seconds']:.2f} s = {copy_rate:,.0f} rows/s; "
                f"ratio end-to-end / COPY = {rate / copy_rate:.3f}"
            )
    finally:
        for process in processes:
            stop(process)
        if not args.keep_db:
            database_drop()


if __name__ == "__main__":
    main()
