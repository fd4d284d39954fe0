"""Deals board at size: render and drag-and-drop move, p50/p95 wall time, SQL queries and HTML size.

Runs against the configured database (DATABASE_URL, migrated): the deals are committed and the table vacuumed (so
it is read as in production), then removed again. Targets (issue 13) at 50,000 deals: board p95 <= 300 ms and <= 400 KB,
move p95 <= 100 ms. Usage: .venv/bin/python bench/board.py [--deals 50000] [--runs 30]
"""

import argparse
import datetime
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdpcrm.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from contacts.models import Company, Contact  # noqa: E402
from pipeline.models import Deal, ExchangeRate, Pipeline, Stage  # noqa: E402


def cleanup() -> None:
    """Remove what seed() made (this bench leaves nothing behind)."""
    with transaction.atomic():
        Deal.objects.filter(title__startswith="Bench deal ").delete()
        Contact.objects.filter(first_name="Bench", last_name__startswith="Buyer ").delete()
        Company.objects.filter(name__startswith="Bench Company ").delete()
        get_user_model().objects.filter(username__startswith="bench-board-").delete()


def _cursor(stage) -> str:
    from pipeline.selectors import board_cards

    return board_cards(stage=stage)[1]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def seed(deal_count: int):
    user = get_user_model().objects.create_user(username="bench-board-user", password="x")  # noqa: S106
    user.groups.add(Group.objects.get(name="Sales"))
    owners = [user] + [
        get_user_model().objects.create_user(username=f"bench-board-owner{i}", first_name=f"Owner {i}")
        for i in range(4)
    ]
    for owner in owners[1:]:
        owner.groups.add(Group.objects.get(name="Sales"))
    companies = Company.objects.bulk_create(Company(name=f"Bench Company {i:03d}") for i in range(100))
    ExchangeRate.objects.bulk_create(
        [ExchangeRate(base="USD", currency="EUR", rate=Decimal("1.08"), valid_from=datetime.date(2020, 1, 1)),
         ExchangeRate(base="USD", currency="GBP", rate=Decimal("1.27"), valid_from=datetime.date(2020, 1, 1))],
        ignore_conflicts=True,
    )  # fmt: skip
    contacts = Contact.objects.bulk_create(
        Contact(first_name="Bench", last_name=f"Buyer {i:03d}", company=companies[i]) for i in range(100)
    )
    pipeline = Pipeline.objects.filter(is_default=True).first()
    if pipeline is None:
        sys.exit("No default pipeline: run `manage.py migrate` on this database first.")
    stages = list(pipeline.stages.order_by("position"))
    Deal.objects.bulk_create(
        Deal(
            title=f"Bench deal {i:04d}",
            amount=Decimal(1000 + (i * 7919) % 90000),
            currency=("USD", "USD", "USD", "EUR", "GBP")[i % 5],
            pipeline=pipeline,
            stage=stages[i % len(stages)],
            lost_reason="Price" if stages[i % len(stages)].kind == Stage.Kind.LOST else "",
            expected_close_date=datetime.date(2026, 1, 1) + datetime.timedelta(days=i % 365),
            closed_at=timezone.now() if stages[i % len(stages)].kind != Stage.Kind.OPEN else None,
            owner=owners[i % len(owners)],
            company=companies[i % 100],
            contact=contacts[i % 100],
        )
        for i in range(deal_count)
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh rows: give the planner their statistics
            cursor.execute("ANALYZE pipeline_deal")
    return user, pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deals", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    vendor = connection.vendor
    before = Deal.objects.count()
    with transaction.atomic():  # committed, so the table is vacuumed and read as in production
        user, pipeline = seed(args.deals)
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE pipeline_deal")
    try:
        if True:
            client = Client()
            client.force_login(user)
            url = f"/deals/?pipeline={pipeline.pk}"
            assert client.get(url).status_code == 200  # warm-up: templates, caches
            timings, queries, size, sql_ms, move_sql = [], 0, 0, [], []
            for _ in range(args.runs):
                with CaptureQueriesContext(connection) as captured:
                    start = time.perf_counter()
                    response = client.get(url)
                    timings.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200
                queries, size = len(captured.captured_queries), len(response.content)
                sql_ms.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
            cards = response.content.decode().count('class="deal-card ')
            stages = list(pipeline.stages.filter(kind=Stage.Kind.OPEN).order_by("position")[:2])
            deal = Deal.objects.filter(stage=stages[0]).order_by("id").first()
            moves = []
            for n in range(args.runs):
                target = stages[(n + 1) % 2]
                with CaptureQueriesContext(connection) as captured:
                    start = time.perf_counter()
                    moved = client.post(
                        f"/deals/{deal.pk}/move/", {"stage": target.pk}, HTTP_HX_REQUEST="true"
                    )
                    moves.append((time.perf_counter() - start) * 1000)
                assert moved.status_code == 200, moved.content
                move_queries, move_size = len(captured.captured_queries), len(moved.content)
                move_sql.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
            page2 = client.get(f"/deals/stages/{stages[0].pk}/cards/?after=" + quote(_cursor(stages[0])))
            assert page2.status_code == 200
    finally:
        cleanup()
    print(
        f"database: {vendor}; deals on board: {cards} (+{before} pre-existing in the DB); runs: {args.runs}"
    )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"board render p50 {statistics.median(timings):.1f} ms, p95 {percentile(timings, 95):.1f} ms, "
        f"min {min(timings):.1f} ms; {queries} SQL queries per request (SQL p50 {statistics.median(sql_ms):.1f} ms); "
        f"{size / 1024:.0f} KiB HTML"
    )
    print(
        f"move (card + two column heads) p50 {statistics.median(moves):.1f} ms, p95 {percentile(moves, 95):.1f} ms, "
        f"min {min(moves):.1f} ms; {move_queries} SQL queries (SQL p50 {statistics.median(move_sql):.1f} ms); "
        f"{move_size / 1024:.1f} KiB"
    )


if __name__ == "__main__":
    main()
