"""Search at size: contains-search of the contact list, phones in any format, global search.

Tops the configured PostgreSQL database (DATABASE_URL, migrated) up to --contacts bench contacts (kept for
the next run; bench/seed.py) and times each search through the full Django stack with the test client.
Target (issue 13): contains-search p95 <= 200 ms at 1,000,000 contacts (pg_trgm indexes).

Usage: .venv/bin/python bench/search.py [--contacts 1000000] [--runs 20]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

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
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

SEARCHES = [
    # (label, path and query): contains over names and e-mails, a common surname, a rare one, an e-mail,
    # a two-letter prefix, a company name, and one phone number typed three ways
    ("list contains 'garci'", "/contacts/?q=garci"),
    ("list contains 'kowal'", "/contacts/?q=kowal"),
    ("list contains 'olga.4242'", "/contacts/?q=olga.4242"),
    ("list e-mail exact", "/contacts/?q=" + quote("olga.424242@mail-75.example")),
    ("list prefix 'ad'", "/contacts/?q=ad"),
    ("list company 'linen'", "/contacts/?q=linen"),
    ("list phone +1 310-042-4242", "/contacts/?q=" + quote("+1 310-042-4242")),
    ("list phone 310-042-4242", "/contacts/?q=" + quote("310-042-4242")),
    ("list phone 3100424242", "/contacts/?q=3100424242"),
    ("global 'garci'", "/search/?q=garci"),
    ("global 'olga.4242'", "/search/?q=olga.4242"),
    ("global phone (310) 042 4242", "/search/?q=" + quote("(310) 042 4242")),
    ("picker 'kowal'", "/contacts/pick/?q=kowal"),
]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reseed", action="store_true", help="drop the bench contacts and seed them again")
    args = parser.parse_args()
    seed.require_postgres()
    if args.reseed:
        seed.contacts_drop()
    setup_test_environment()  # the test client then records each response's context (match counts)
    start = time.perf_counter()
    seed.companies_top_up(args.companies)
    seed.contacts_top_up(args.contacts)
    seeded_in = time.perf_counter() - start
    user, _ = get_user_model().objects.get_or_create(username="bench-search")
    user.groups.add(Group.objects.get(name="Sales"))
    client = Client()
    client.force_login(user)
    print(
        f"database: {connection.vendor}; contacts: {seed.count('contacts_contact', 'true'):,}; "
        f"companies: {seed.count('contacts_company', 'true'):,}; seeding/top-up {seeded_in:.0f} s; "
        f"runs: {args.runs}; load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    htmx = {"HTTP_HX_REQUEST": "true"}
    for label, url in SEARCHES:
        extra = htmx if url.startswith("/search/") else {}
        client.get(url, **extra)  # warm-up
        timings, sql, found = [], [], ""
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as captured:
                begin = time.perf_counter()
                response = client.get(url, **extra)
                timings.append((time.perf_counter() - begin) * 1000)
            assert response.status_code == 200, (url, response.status_code)
            sql.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
        if response.context and "page_obj" in response.context:
            found = f"{response.context['page_obj'].paginator.count:,} matches"
        print(
            f"{label:<30} p50 {statistics.median(timings):6.1f} ms  p95 {percentile(timings, 95):6.1f} ms  "
            f"(SQL p50 {statistics.median(sql):6.1f} ms)  {found}"
        )


if __name__ == "__main__":
    main()
