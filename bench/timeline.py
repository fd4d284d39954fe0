"""Contact page with a 10,000-item unified timeline: p50/p95 wall time and SQL queries per request.

Measures the three requests a browser makes to show a contact: the page itself, the Timeline panel (first
page of the timeline, loaded by htmx) and the CDP side panel; plus a deep timeline page (a cursor half-way
down the history). Runs against the configured database (DATABASE_URL, migrated) inside a transaction
that is rolled back, so nothing is left behind.

    DATABASE_URL=postgres://... .venv/bin/python bench/timeline.py [--items 10000] [--runs 40]
"""

import argparse
import os
import re
import statistics
import sys
import time
from datetime import timedelta
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
from django.utils import timezone  # noqa: E402

from contacts.models import Activity, Contact, LoyaltyAccount, LoyaltyNote, Task  # noqa: E402
from pipeline.models import DealStageChange  # noqa: E402
from pipeline.services import deal_create  # noqa: E402
from profiles.models import Event, Profile, Source  # noqa: E402
from profiles.unify.computed import computed_refresh  # noqa: E402
from tickets.models import TicketMessage  # noqa: E402
from tickets.services import ticket_create  # noqa: E402


class Rollback(Exception):
    pass


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))]


def seed(items: int):
    """A contact whose timeline holds `items` rows: 90% events from three sources, 10% CRM history."""
    user = get_user_model().objects.create_user(username="bench-timeline-user", first_name="Bench")
    user.groups.add(Group.objects.get(name="Sales"))
    contact = Contact.objects.create(
        first_name="Tim", last_name="Line", email="bench-timeline@example.com", owner=user
    )
    profile = Profile.objects.create(contact=contact, traits={"email": contact.email, "name": "Tim Line"})
    sources = [
        Source.objects.create(
            name=f"bench-{kind}", kind=kind, write_key_hash=f"bench-{kind}", write_key_prefix="b"
        )
        for kind in ("website", "ios", "email")
    ]
    now = timezone.now()
    crm = items // 10
    events = items - crm
    Event.objects.bulk_create(
        [
            Event(
                source=sources[n % 3],
                profile=profile,
                message_id=f"bench-{n}",
                type="track",
                name=("Product Viewed", "Application Opened", "Email Opened")[n % 3],
                user_id="bench-user",
                timestamp=now - timedelta(minutes=n),
                received_at=now - timedelta(minutes=n),
                properties={"sku": f"SKU-{n % 50}", "price": n % 200, "category": "shoes"},
            )
            for n in range(events)
        ],
        batch_size=2000,
    )
    share = crm // 5
    Activity.objects.bulk_create(
        [
            Activity(
                kind="call",
                subject=f"Call {n}",
                occurred_at=now - timedelta(minutes=7 * n + 3),
                contact=contact,
                author=user,
            )
            for n in range(share)
        ]
    )
    Task.objects.bulk_create([Task(title=f"Task {n}", contact=contact, assignee=user) for n in range(share)])
    account = LoyaltyAccount.objects.create(contact=contact, member_since=now.date())
    LoyaltyNote.objects.bulk_create(
        [
            LoyaltyNote(
                account=account,
                kind="earned",
                points_delta=10,
                created_at=now - timedelta(minutes=11 * n + 1),
            )
            for n in range(share)
        ]
    )
    deals = [deal_create(user=user, title=f"Bench deal {n}", contact=contact) for n in range(5)]
    first = DealStageChange.objects.filter(deal=deals[0]).first()
    DealStageChange.objects.bulk_create(
        [
            DealStageChange(
                deal=deals[n % 5],
                from_stage_name="Lead-in",
                to_stage=first.to_stage,
                to_stage_name=first.to_stage_name,
                changed_at=now - timedelta(minutes=13 * n + 2),
            )
            for n in range(share - 5)
        ]
    )
    tickets = [
        ticket_create(user=user, contact=contact, subject=f"Bench ticket {n}", body="Hello") for n in range(5)
    ]
    TicketMessage.objects.bulk_create(
        [
            TicketMessage(
                ticket=tickets[n % 5],
                author_user=user,
                body=f"Reply {n}",
                created_at=now - timedelta(minutes=17 * n + 5),
            )
            for n in range(share - 5)
        ]
    )
    computed_refresh(profile_ids=[profile.pk])
    return user, contact


def measure(client: Client, url: str, runs: int) -> tuple[list[float], int, str]:
    assert client.get(url).status_code == 200  # warm-up
    timings, queries, body = [], 0, ""
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
        queries, body = len(captured.captured_queries), response.content.decode()
    return timings, queries, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    results = {}
    try:
        with transaction.atomic():
            user, contact = seed(args.items)
            connection.cursor().execute("ANALYZE") if connection.vendor == "postgresql" else None
            client = Client()
            client.force_login(user)
            timeline_url = f"/cdp/contacts/{contact.pk}/timeline/"
            page = measure(client, f"/contacts/{contact.pk}/", args.runs)
            timeline = measure(client, timeline_url, args.runs)
            cdp = measure(client, f"/cdp/contacts/{contact.pk}/cdp/", args.runs)
            # Follow the cursor half-way down the history for the deep-page figure.
            url, body = timeline_url, timeline[2]
            for _ in range(args.items // 25 // 2):
                cursor = re.search(r'cursor=([^&"]+)', body)
                if not cursor:
                    break
                url = f"{timeline_url}?cursor={cursor.group(1)}"
                body = client.get(url).content.decode()
            deep = measure(client, url, args.runs)
            results = {
                "contact page": page,
                "timeline panel (page 1)": timeline,
                "CDP panel": cdp,
                "timeline deep page": deep,
            }
            total = [a + b + c for a, b, c in zip(page[0], timeline[0], cdp[0], strict=True)]
            results["page + both panels"] = (total, page[1] + timeline[1] + cdp[1], "")
            raise Rollback
    except Rollback:
        pass
    print(f"database: {connection.vendor}; timeline items: {args.items}; runs: {args.runs}")
    for name, (timings, queries, _) in results.items():
        print(
            f"{name:26} p50 {statistics.median(timings):6.1f} ms  p95 {percentile(timings, 95):6.1f} ms  "
            f"{queries} SQL queries"
        )


if __name__ == "__main__":
    main()
