"""Record pickers at size: the new-deal and new-contact pages and the type-ahead endpoints.

Tops the configured PostgreSQL database (DATABASE_URL, migrated) up to --contacts bench contacts and
--companies bench companies (kept for the next run), then renders each page through the full Django stack
(middleware, login, templates) with the test client and prints p50/p95 and the HTML size.
Targets (issue 13): /deals/new/ and /contacts/new/ p95 <= 150 ms and <= 80 KB at 500,000 / 50,000.

Usage: .venv/bin/python bench/pickers.py [--contacts 500000] [--companies 50000] [--runs 30]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdpcrm.settings")

import django  # noqa: E402

django.setup()

import seed  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))]


def measure(client: Client, url: str, runs: int) -> dict:
    assert client.get(url).status_code == 200, url  # warm-up: templates, caches
    timings, size, queries = [], 0, 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        size, queries = len(response.content), len(captured.captured_queries)
    return {"url": url, "p50": statistics.median(timings), "p95": percentile(timings, 95), "kib": size / 1024,
            "queries": queries}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=500_000)
    parser.add_argument("--companies", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--reseed", action="store_true", help="drop the bench contacts and seed them again")
    args = parser.parse_args()
    seed.require_postgres()
    if args.reseed:
        seed.contacts_drop()
    start = time.perf_counter()
    seed.companies_top_up(args.companies)
    contacts = seed.contacts_top_up(args.contacts)
    seeded_in = time.perf_counter() - start
    user, _ = get_user_model().objects.get_or_create(username="bench-pickers")
    user.groups.add(Group.objects.get(name="Sales"))
    client = Client()
    client.force_login(user)
    company_total = seed.count("contacts_company", "true")
    contact_total = seed.count("contacts_contact", "true")
    print(
        f"database: {connection.vendor}; contacts: {contact_total:,} ({contacts:,} bench); companies: "
        f"{company_total:,}; seeding/top-up took {seeded_in:.0f} s; runs: {args.runs}; load average: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    urls = [
        "/deals/new/", "/contacts/new/", "/contacts/?company=1",
        "/contacts/pick/?q=", "/contacts/pick/?q=olga", "/contacts/pick/?q=garc",
        "/contacts/pick/?q=priya.4242", "/contacts/pick/?q=310-042-4242",
        "/companies/pick/?q=", "/companies/pick/?q=linen", "/companies/pick/?q=bench-4242",
    ]  # fmt: skip
    for url in urls:
        row = measure(client, url, args.runs)
        print(
            f"{row['url']:<34} p50 {row['p50']:6.1f} ms  p95 {row['p95']:6.1f} ms  {row['kib']:6.1f} KiB  "
            f"{row['queries']} queries"
        )


if __name__ == "__main__":
    main()
