"""Deals board rendering: p50/p95 wall time and SQL queries for a board of N deals (default 500).

Runs against the configured database (DATABASE_URL, migrated) inside a transaction that is rolled back,
so nothing is left behind. Usage: .venv/bin/python bench/board.py [--deals 500] [--runs 30]
"""

import argparse
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

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

from contacts.models import Company, Contact  # noqa: E402
from pipeline.models import Deal, Pipeline, Stage  # noqa: E402


class Rollback(Exception):
    pass


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
            owner=owners[i % len(owners)],
            company=companies[i % 100],
            contact=contacts[i % 100],
        )
        for i in range(deal_count)
    )
    return user, pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deals", type=int, default=500)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    vendor = connection.vendor
    try:
        with transaction.atomic():
            before = Deal.objects.count()
            user, pipeline = seed(args.deals)
            client = Client()
            client.force_login(user)
            url = f"/deals/?pipeline={pipeline.pk}"
            assert client.get(url).status_code == 200  # warm-up: templates, caches
            timings, queries, size = [], 0, 0
            for _ in range(args.runs):
                with CaptureQueriesContext(connection) as captured:
                    start = time.perf_counter()
                    response = client.get(url)
                    timings.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200
                queries, size = len(captured.captured_queries), len(response.content)
            cards = response.content.decode().count('class="deal-card ')
            raise Rollback
    except Rollback:
        pass
    print(
        f"database: {vendor}; deals on board: {cards} (+{before} pre-existing in the DB); runs: {args.runs}"
    )
    print(
        f"board render p50 {statistics.median(timings):.1f} ms, p95 {percentile(timings, 95):.1f} ms, "
        f"min {min(timings):.1f} ms; {queries} SQL queries per request; {size / 1024:.0f} KiB HTML"
    )


if __name__ == "__main__":
    main()
