"""Journeys at scale: 1,000,000 enrolled profiles, 100,000 steps falling due in the same minute, swept by
2 processes (SKIP LOCKED batches), and the latency from an accepted "Order Completed" track call to the
step after a wait-for-event, and the journey page's reads at that size (per-step counters vs the old GROUP BY).

PostgreSQL only, on a DEDICATED database (every profile/event/journey row in it is deleted first):
    createdb -h 127.0.0.1 -U postgres cdpcrm_journeys_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/cdpcrm_journeys_bench
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/journeys.py --profiles 1000000 --due 100000
The journey is the abandoned-cart shape: wait 1 h -> branch on "Order Completed since enrolment" -> wait
for "Order Completed" (2 days) -> tag. The due enrolments finish their wait, take the branch (one compiled
query per batch) and stop at the wait-for-event. Latency runs the pipeline eagerly in this process, or with
BENCH_BROKER_URL through a real Celery worker (queues ingest + journeys) that this script starts; give it a
shared cache too (CACHE_URL=redis://...), since the ingest drain flag lives there:
    BENCH_BROKER_URL=redis://127.0.0.1:6379/3 CACHE_URL=redis://127.0.0.1:6379/4 .venv/bin/python bench/journeys.py --latency-only
"""

import argparse
import datetime
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdpcrm.settings")
os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_BROKER_URL", "")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from worker import worker_start  # noqa: E402

from cdpcrm.celery import app as celery_app  # noqa: E402
from profiles.ingest.inbox import batch_accept, request_info_now  # noqa: E402
from profiles.models import Source  # noqa: E402
from profiles.sources.services import source_create  # noqa: E402
from segments.journeys.models import Enrolment, Journey, StepLog  # noqa: E402
from segments.journeys.services import journey_publish, journey_save  # noqa: E402
from segments.journeys.sweeper import due_steps_process  # noqa: E402

DEFINITION = {
    "trigger": {"type": "event", "event": "Product Added"},
    "steps": [
        {"id": "wait", "type": "wait", "duration": {"hours": 1}, "next": "ordered"},
        {
            "id": "ordered",
            "type": "branch",
            "rule": {"event": "Order Completed", "since_enrolment": True},
            "yes": None,
            "no": "order",
        },
        {
            "id": "order",
            "type": "wait_event",
            "event": "Order Completed",
            "timeout": {"days": 2},
            "next": "thanks",
            "timeout_next": None,
        },
        {"id": "thanks", "type": "tag", "tag": "ordered after a reminder", "next": None},
    ],
}


def generate(*, profiles: int, due: int, seed: int = 11) -> tuple[float, Source, Journey]:
    rng = random.Random(seed)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE journeys_steplog, journeys_stepcount, journeys_enrolment, journeys_journeyversion, journeys_journey, "
            "profiles_event, profiles_identity, profiles_ingesterror, profiles_ingestbatch, profiles_profile "
            "RESTART IDENTITY CASCADE"
        )
    Source.objects.filter(name="Bench").delete()
    source, _key = source_create(name="Bench", kind="server")
    journey = journey_save(user=None, name="Bench cart", definition=DEFINITION)
    version = journey_publish(journey=journey, user=None)
    now = timezone.now()
    minute = now - datetime.timedelta(seconds=60)
    raw = connection.connection
    with raw.cursor() as cur:
        with cur.copy(
            "COPY profiles_profile (id, traits, first_seen, last_seen, created_at, updated_at) FROM STDIN"
        ) as copy:
            for pid in range(1, profiles + 1):
                copy.write_row((pid, json.dumps({"email": f"p{pid}@bench.example"}), now, now, now, now))
        with cur.copy("COPY profiles_identity (kind, value, profile_id, created_at) FROM STDIN") as copy:
            for pid in range(1, profiles + 1):
                copy.write_row(("email", f"p{pid}@bench.example", pid, now))
        cols = (
            "journey_id, version_id, profile_id, state, trigger_ref, step, steps_taken, step_started_at, due_at, "
            "entered_at, end_reason"
        )
        with cur.copy(f"COPY journeys_enrolment ({cols}) FROM STDIN") as copy:
            for pid in range(1, profiles + 1):
                if pid <= due:  # entered an hour ago: due within the last minute
                    due_at = minute + datetime.timedelta(seconds=rng.randint(0, 59))
                else:
                    due_at = now + datetime.timedelta(seconds=rng.randint(3600, 30 * 86400))
                entered = due_at - datetime.timedelta(hours=1)
                copy.write_row(
                    (
                        journey.pk,
                        version.pk,
                        pid,
                        "active",
                        f"bench:{pid}",
                        "wait",
                        1,
                        entered,
                        due_at,
                        entered,
                        "",
                    )
                )
        # One in ten of the due profiles already ordered since entering: the branch sends them out.
        ecols = (
            "source_id, profile_id, message_id, type, name, category, user_id, anonymous_id, group_id, previous_id, "
            "timestamp, received_at, properties, traits, context, integrations"
        )
        with cur.copy(f"COPY profiles_event ({ecols}) FROM STDIN") as copy:
            for pid in range(1, due + 1, 10):
                at = (now - datetime.timedelta(minutes=30)).isoformat()
                copy.write(
                    f"{source.pk}\t{pid}\tord{pid}\ttrack\tOrder Completed\t\t\t\t\t\t{at}\t{at}\t{{}}\t{{}}\t{{}}\t{{}}\n"
                )
        # The counters the sweeper keeps (written here because COPY bypasses it): everybody is at "wait".
        cur.execute(
            "INSERT INTO journeys_stepcount (version_id, step, active) VALUES (%s, 'wait', %s)",
            (version.pk, profiles),
        )
        cur.execute("SELECT setval(pg_get_serial_sequence('profiles_profile', 'id'), %s)", (profiles,))
        for table in ("profiles_profile", "profiles_identity", "profiles_event", "journeys_enrolment"):
            cur.execute(f"ANALYZE {table}")
    return time.monotonic() - started, source, journey


def sweep(processes: int) -> dict:
    """Run the sweeper in `processes` OS processes at once (they share the due rows through SKIP LOCKED)."""
    due_before = Enrolment.objects.filter(state="active", due_at__lte=timezone.now()).count()
    started = time.monotonic()
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--sweep-child"],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    handled = [int(child.communicate()[0].strip().splitlines()[-1]) for child in children]
    seconds = time.monotonic() - started
    load = os.getloadavg()
    left = Enrolment.objects.filter(
        state="active", due_at__lte=timezone.now() - datetime.timedelta(seconds=5), step="wait"
    ).count()
    return {
        "due_steps": due_before,
        "processes": processes,
        "handled_per_process": handled,
        "seconds": round(seconds, 1),
        "steps_per_second": round(sum(handled) / seconds) if seconds else None,
        "left_due": left,
        "loadavg_1_5_15": [round(x, 2) for x in load],
        "at_wait_for_event": Enrolment.objects.filter(step="order", state="active").count(),
        "converted_or_completed_by_branch": Enrolment.objects.filter(state="completed").count(),
    }


def page(journey: Journey, *, repeat: int = 5) -> dict:
    """The journey page's reads at this size (median of `repeat`): the diagram's counts (StepCount rows and
    the capped entering count), totals, chart, newest enrolments; and, for comparison, the GROUP BY over
    active enrolments the diagram used to run. Also checks the counters against that GROUP BY."""
    from django.db.models import Count

    from segments.journeys import selectors

    journey = Journey.objects.select_related("live_version").get(pk=journey.pk)

    def timed(fn) -> float:
        runs = []
        for _ in range(repeat):
            started = time.monotonic()
            fn()
            runs.append(time.monotonic() - started)
        return round(1000 * statistics.median(runs), 1)

    def reads():
        steps, entering = selectors.journey_diagram(journey=journey)
        selectors.journey_totals(journey=journey, waiting_to_start=entering)
        selectors.journey_over_time(journey=journey)
        selectors.journey_enrolments_page(journey=journey, before=None)
        return steps

    def group_by():
        return dict(
            Enrolment.objects.filter(version=journey.live_version, state="active")
            .values("step")
            .annotate(n=Count("id"))
            .values_list("step", "n")
        )

    counted = {s["id"]: s["here"] for s in reads()}
    truth = group_by()
    return {
        "enrolments": Enrolment.objects.filter(journey=journey).count(),
        "page_reads_ms": timed(reads),
        "diagram_counts_ms": timed(lambda: selectors.journey_diagram(journey=journey)),
        "old_group_by_ms": timed(group_by),
        "counters_match_group_by": all(counted.get(k, 0) == v for k, v in truth.items() if k),
        "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def latency(source: Source, *, samples: int) -> dict:
    use_worker = bool(os.environ.get("BENCH_BROKER_URL"))
    celery_app.conf.task_always_eager = not use_worker
    worker = (
        worker_start(
            celery_app=celery_app, queues="default,ingest,segments,journeys,activation", name="journeybench"
        )
        if use_worker
        else None
    )
    waiting = list(
        Enrolment.objects.filter(step="order", state="active").values_list("pk", "profile_id")[: samples * 3]
    )
    random.Random(3).shuffle(waiting)
    times = []
    for enrolment_id, profile_id in waiting[:samples]:
        body = {
            "type": "track",
            "event": "Order Completed",
            "userId": f"bench-{profile_id}",
            "messageId": f"lat-{time.time_ns()}",
            "context": {"traits": {"email": f"p{profile_id}@bench.example"}},
        }
        started = time.monotonic()
        info = request_info_now(client_ip="127.0.0.1", user_agent="bench", browser_source=False)
        batch_accept(source=source, kind="track", body=json.dumps(body), event_count=1, info=info)
        moved = StepLog.objects.filter(enrolment_id=enrolment_id, step="order", summary__endswith="happened")
        deadline = time.monotonic() + (30 if use_worker else 0)
        while not moved.exists():
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)
        else:
            times.append(time.monotonic() - started)
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
        "path": f"real worker via {os.environ['BENCH_BROKER_URL']}" if use_worker else "in-process (eager)",
        "samples": samples,
        "measured": len(times),
        "next_step_p50_ms": pct(times, 50),
        "next_step_p95_ms": pct(times, 95),
        "mean_ms": round(1000 * statistics.mean(times), 1) if times else None,
        "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--yes", action="store_true", help="do not ask before emptying the database")
    parser.add_argument(
        "--latency-only", action="store_true", help="reuse the swept data; measure latency only"
    )
    parser.add_argument("--sweep-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sweep_child:
        print(due_steps_process())
        return
    if connection.vendor != "postgresql":
        sys.exit("bench/journeys.py needs PostgreSQL (set DATABASE_URL)")
    name = connection.settings_dict["NAME"]
    if not name.endswith("_bench") and not args.yes:
        sys.exit(f"refusing to empty database {name!r}: use a database whose name ends in _bench, or --yes")
    if args.latency_only:
        source = Source.objects.get(name="Bench")
    else:
        seconds, source, journey = generate(profiles=args.profiles, due=args.due)
        print(
            f"generated {args.profiles:,} profiles and enrolments ({args.due:,} due this minute) with COPY in {seconds:.1f} s"
        )
        print(json.dumps(sweep(args.processes)))
        print(json.dumps(page(journey)))
    print(json.dumps(latency(source, samples=args.samples)))


if __name__ == "__main__":
    main()
