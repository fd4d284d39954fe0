"""Segment evaluation at scale: full recompute of a 3-condition and a 5-condition (30-day windows) segment,
and the in-process latency from an accepted track call to the membership row and the webhook delivery.

PostgreSQL only, on a DEDICATED database (every profile/event/segment row in it is deleted first):
    createdb -h 127.0.0.1 -U postgres cdpcrm_segments_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/cdpcrm_segments_bench
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/segments.py --profiles 1000000 --events 10000000
Data are generated with COPY. The latency part runs the pipeline eagerly in this process (batch_accept ->
batch_process -> profiles_changed -> incremental re-check -> delivery to a local HTTP receiver), or, with
BENCH_BROKER_URL set and --latency-only, through a real Celery worker that this script starts:
    BENCH_BROKER_URL=redis://127.0.0.1:6379/3 .venv/bin/python bench/segments.py --latency-only
"""

import argparse
import datetime
import json
import os
import random
import signal
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdpcrm.settings")
# Eager by default (the latency part measures the code path); BENCH_BROKER_URL puts a real worker in the path.
os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_BROKER_URL", "")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from worker import worker_start  # noqa: E402

from cdpcrm.celery import app as celery_app  # noqa: E402
from profiles.ingest.inbox import batch_accept, request_info_now  # noqa: E402
from profiles.models import Event, Source  # noqa: E402
from profiles.sources.services import source_create  # noqa: E402
from segments.models import Delivery, Destination, Membership, Segment  # noqa: E402
from segments.services import segment_recompute  # noqa: E402

EVENT_NAMES = [
    ("Page Viewed", 40),
    ("Product Viewed", 25),
    ("Product Added", 12),
    ("Email Opened", 12),
    ("Checkout Started", 5),
    ("Order Completed", 4),
    ("Email Link Clicked", 2),
]
CATEGORIES = ["shoes", "dresses", "bags", "jackets", "accessories"]
TIERS = ["bronze", "silver", "gold", "platinum"]
COUNTRIES = ["DE", "FR", "IT", "ES", "NL", "US"]

RULE_3 = {
    "all": [
        {"trait": "tier", "op": "in", "value": ["gold", "platinum"]},
        {"event": "Product Added", "within": {"days": 7}},
        {"not": {"event": "Order Completed", "within": {"days": 7}}},
    ]
}
RULE_5 = {
    "all": [
        {"trait": "country", "op": "eq", "value": "DE"},
        {"event": "Product Viewed", "count": {"op": "gte", "value": 3}, "within": {"days": 30}},
        {
            "event": "Product Added",
            "where": [{"property": "category", "op": "eq", "value": "shoes"}],
            "within": {"days": 30},
        },
        {"event": "Email Opened", "within": {"days": 30}},
        {"not": {"event": "Order Completed", "within": {"days": 30}}},
    ]
}


def generate(*, profiles: int, events: int, seed: int = 7) -> tuple[float, Source]:
    rng = random.Random(seed)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE segments_delivery, segments_membership, segments_segmentsize, segments_destination, "
            "segments_historicalsegment, segments_segment, profiles_event, profiles_identity, "
            "profiles_ingesterror, profiles_ingestbatch, profiles_profile RESTART IDENTITY CASCADE"
        )
    Source.objects.filter(name="Bench").delete()
    source, _key = source_create(name="Bench", kind="server")
    now = timezone.now()
    names = [n for n, w in EVENT_NAMES for _ in range(w)]
    raw = connection.connection  # psycopg 3 connection
    with raw.cursor() as cur:
        with cur.copy(
            "COPY profiles_profile (id, traits, first_seen, last_seen, created_at, updated_at) FROM STDIN"
        ) as copy:
            for pid in range(1, profiles + 1):
                traits = json.dumps(
                    {
                        "tier": rng.choice(TIERS),
                        "country": rng.choice(COUNTRIES),
                        "email": f"p{pid}@bench.example",
                    }
                )
                copy.write_row((pid, traits, now, now, now, now))
        with cur.copy("COPY profiles_identity (kind, value, profile_id, created_at) FROM STDIN") as copy:
            for pid in range(1, profiles + 1):
                copy.write_row(("email", f"p{pid}@bench.example", pid, now))
        cols = (
            "source_id, profile_id, message_id, type, name, category, user_id, anonymous_id, group_id, "
            "previous_id, timestamp, received_at, properties, traits, context, integrations"
        )
        with cur.copy(f"COPY profiles_event ({cols}) FROM STDIN") as copy:
            # Text-format COPY written in blocks: building rows is the bottleneck, not PostgreSQL.
            base = now.timestamp()
            block: list[str] = []
            for i in range(events):
                at = datetime.datetime.fromtimestamp(
                    base - rng.randint(0, 90 * 86400), tz=datetime.UTC
                ).isoformat()
                props = f'{{"category": "{rng.choice(CATEGORIES)}", "price": {rng.randint(10, 300)}}}'
                block.append(
                    f"{source.pk}\t{rng.randint(1, profiles)}\tb{i}\ttrack\t{rng.choice(names)}\t\t\t\t\t\t"
                    f"{at}\t{at}\t{props}\t{{}}\t{{}}\t{{}}\n"
                )
                if len(block) >= 20000:
                    copy.write("".join(block))
                    block.clear()
            if block:
                copy.write("".join(block))
        cur.execute("SELECT setval(pg_get_serial_sequence('profiles_profile', 'id'), %s)", (profiles,))
        cur.execute("ANALYZE profiles_profile")
        cur.execute("ANALYZE profiles_identity")
        cur.execute("ANALYZE profiles_event")
    return time.monotonic() - started, source


# What a person would write by hand for each rule: one INSERT ... SELECT of the new members (no history,
# no activation, no Python in between). The recompute is compared with it, side by side in one run.
_EVENT = (
    "EXISTS (SELECT 1 FROM profiles_event e WHERE e.profile_id = p.id AND e.name = '{name}'{where}"
    " AND e.timestamp > %(now)s - interval '{days} days' AND e.timestamp <= %(now)s)"
)
HAND_WRITTEN = {
    "3 conditions": " AND ".join(
        [
            "p.traits ->> 'tier' IN ('gold', 'platinum')",
            _EVENT.format(name="Product Added", where="", days=7),
            "NOT " + _EVENT.format(name="Order Completed", where="", days=7),
        ]
    ),
    "5 conditions, 30-day windows": " AND ".join(
        [
            "p.traits ->> 'country' = 'DE'",
            "(SELECT count(*) FROM profiles_event e WHERE e.profile_id = p.id AND e.name = 'Product Viewed'"
            " AND e.timestamp > %(now)s - interval '30 days' AND e.timestamp <= %(now)s) >= 3",
            _EVENT.format(name="Product Added", where=" AND e.properties ->> 'category' = 'shoes'", days=30),
            _EVENT.format(name="Email Opened", where="", days=30),
            "NOT " + _EVENT.format(name="Order Completed", where="", days=30),
        ]
    ),
}


def hand_written(name: str, segment_id: int, now: datetime.datetime) -> tuple[float, int]:
    """Seconds and rows of the hand-written INSERT ... SELECT (rolled back: it only measures)."""
    sql = (
        "INSERT INTO segments_membership (segment_id, profile_id, entered_at) "
        f"SELECT %(segment)s, p.id, %(now)s FROM profiles_profile p WHERE p.merged_into_id IS NULL AND {HAND_WRITTEN[name]}"
    )
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("DELETE FROM segments_membership WHERE segment_id = %s", [segment_id])
        started = time.monotonic()
        cursor.execute(sql, {"segment": segment_id, "now": now})
        seconds, rows = time.monotonic() - started, cursor.rowcount
        cursor.execute("ROLLBACK")
    return seconds, rows


def timed_recompute(name: str, rule: dict, *, rounds: int = 3) -> dict:
    """The full recompute of a new segment against the hand-written query, alternating, best of `rounds`."""
    Segment.objects.filter(name=name).delete()
    segment = Segment.objects.create(name=name, rule=rule)
    ours, theirs, members, hand_rows = [], [], 0, 0
    for _ in range(rounds):
        now = timezone.now()
        seconds, hand_rows = hand_written(name, segment.pk, now)
        theirs.append(seconds)
        Membership.objects.filter(segment=segment).delete()
        started = time.monotonic()
        members, _exited = segment_recompute(segment_id=segment.pk, now=now)
        ours.append(time.monotonic() - started)
    started = time.monotonic()
    again = segment_recompute(segment_id=segment.pk)
    unchanged = time.monotonic() - started
    return {
        "segment": name,
        "members": members,
        "hand_written_rows": hand_rows,
        "recompute_s": round(min(ours), 3),
        "hand_written_s": round(min(theirs), 3),
        "ratio": round(min(ours) / min(theirs), 2),
        "unchanged_s": round(unchanged, 3),
        "second_result": again,
    }


class Receiver:
    def __init__(self):
        self.arrivals: dict[int, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.arrivals[body["profile_id"]] = time.monotonic()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _wait_for(check, timeout: float = 30.0) -> float | None:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return time.monotonic()
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.005)


def latency(source: Source, *, samples: int) -> dict:
    use_worker = bool(os.environ.get("BENCH_BROKER_URL"))
    celery_app.conf.task_always_eager = celery_app.conf.CELERY_TASK_ALWAYS_EAGER = not use_worker
    worker = (
        worker_start(celery_app=celery_app, queues="default,ingest,segments,activation", name="segbench")
        if use_worker
        else None
    )
    receiver = Receiver()
    segment = Segment.objects.create(name="Latency", rule={"event": "Bench Signal", "within": {"days": 1}})
    Destination.objects.create(segment=segment, name="Hook", kind="webhook", url=receiver.url)
    to_row, to_hook = [], []
    for i in range(samples):
        email = f"latency{i}-{time.time_ns()}@bench.example"
        body = {
            "type": "track",
            "event": "Bench Signal",
            "userId": f"lat-{i}-{time.time_ns()}",
            "messageId": f"lat-{time.time_ns()}",
            "context": {"traits": {"email": email}},
        }
        started = time.monotonic()
        info = request_info_now(client_ip="127.0.0.1", user_agent="bench", browser_source=False)
        batch_accept(source=source, kind="track", body=json.dumps(body), event_count=1, info=info)
        member = Membership.objects.filter(
            segment=segment, profile__identities__kind="user_id", profile__identities__value=body["userId"]
        )
        row_at = _wait_for(member.exists) if use_worker else (time.monotonic() if member.exists() else None)
        if row_at is None:
            continue
        to_row.append(row_at - started)
        profile_id = member.values_list("profile_id", flat=True).first()
        hook_at = _wait_for(
            lambda pid=profile_id: pid in receiver.arrivals, timeout=30.0 if use_worker else 0.0
        )
        if hook_at is not None:
            to_hook.append(receiver.arrivals[profile_id] - started)
    delivered = Delivery.objects.filter(destination__segment=segment, status="delivered").count()
    if worker is not None:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)

    def pct(values, p):
        ordered = sorted(values)
        return (
            round(1000 * ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))], 1)
            if ordered
            else None
        )

    return {
        "path": "real worker via " + os.environ["BENCH_BROKER_URL"] if use_worker else "in-process (eager)",
        "samples": samples,
        "measured": len(to_row),
        "delivered": delivered,
        "membership_p50_ms": pct(to_row, 50),
        "membership_p95_ms": pct(to_row, 95),
        "webhook_p50_ms": pct(to_hook, 50),
        "webhook_p95_ms": pct(to_hook, 95),
        "mean_ms": round(1000 * statistics.mean(to_row), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--yes", action="store_true", help="do not ask before emptying the database")
    parser.add_argument(
        "--latency-only", action="store_true", help="reuse the generated data; measure latency only"
    )
    parser.add_argument(
        "--recompute-only", action="store_true", help="reuse the generated data; measure the recompute only"
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/segments.py needs PostgreSQL (set DATABASE_URL)")
    name = connection.settings_dict["NAME"]
    if not name.endswith("_bench") and not args.yes:
        sys.exit(f"refusing to empty database {name!r}: use a database whose name ends in _bench, or --yes")
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    if args.recompute_only:
        for label, rule in (("3 conditions", RULE_3), ("5 conditions, 30-day windows", RULE_5)):
            print(json.dumps(timed_recompute(label, rule)))
        return
    if args.latency_only:
        source = Source.objects.get(name="Bench")
        Segment.objects.filter(name="Latency").delete()
    else:
        seconds, source = generate(profiles=args.profiles, events=args.events)
        print(
            f"generated {args.profiles:,} profiles and {Event.objects.count():,} events with COPY in {seconds:.1f} s"
        )
        for label, rule in (("3 conditions", RULE_3), ("5 conditions, 30-day windows", RULE_5)):
            print(json.dumps(timed_recompute(label, rule)))
    print(json.dumps(latency(source, samples=args.samples)))


if __name__ == "__main__":
    main()
