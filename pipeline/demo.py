"""Demo deals for Modish's B2B sales: a spread of stages, owners, amounts and close dates, with history.

Deterministic (seeded) and idempotent: a run writes the demo deals that are missing (by company and title),
so a second run creates nothing and deleted demo deals come back; bulk inserts keep it fast.
"""

import datetime
import random
from collections import Counter
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from contacts.demo import demo_company_domains
from contacts.models import Activity, Company, Contact

from .models import CurrencySettings, Deal, DealStageChange, ExchangeRate, Pipeline, Stage

DEAL_COUNT = 150
PRODUCTS = (
    "Wholesale spring collection", "Store-in-store partnership", "Uniform programme",
    "Private label knitwear", "Corporate gifting", "Loyalty co-branding", "Outlet stock purchase",
    "Seasonal pop-up", "Footwear line listing", "E-commerce marketplace feed",
    "Visual merchandising kit", "Sustainability capsule",
)  # fmt: skip
LOST_REASONS = (
    "Chose a competitor",
    "No budget this year",
    "Timing: revisit next season",
    "Went silent",
    "Price",
)
NEXT_STEPS = (
    "Send proposal",
    "Book showroom visit",
    "Negotiate volume discount",
    "Call buyer",
    "Send samples",
    "",
)


def _title(company: Company, index: int) -> str:
    return f"{company.name}: {PRODUCTS[index % len(PRODUCTS)]}"


def _already_there(present: Counter, deal: Deal) -> bool:
    """Counts down the demo deals found with this title (company name and product; titles can repeat)."""
    key = deal.title
    if present[key] > 0:
        present[key] -= 1
        return True
    return False


def _owner_order(users: dict) -> list:
    return [users[name] for name in ("sales", "sales2", "sales3") if name in users]


# Monthly rates into the company currency (USD) over the last year, so the board, forecast and win rates
# show consolidated totals and closed deals convert at the rate of their month.
DEMO_RATES = {"EUR": Decimal("1.08"), "GBP": Decimal("1.27"), "JPY": Decimal("0.0067")}


def _rates_load(today: datetime.date) -> None:
    CurrencySettings.objects.get_or_create(singleton=True, defaults={"base_currency": "USD"})
    rows = []
    for months_back in range(12, -1, -1):
        index = today.year * 12 + today.month - 1 - months_back
        day = datetime.date(index // 12, index % 12 + 1, 1)
        for currency, rate in DEMO_RATES.items():
            drift = Decimal(1) + Decimal(months_back % 5 - 2) / 100  # a little movement month to month
            rows.append(
                ExchangeRate(
                    base="USD",
                    currency=currency,
                    rate=(rate * drift).quantize(Decimal("0.0001")),
                    valid_from=day,
                )
            )
    ExchangeRate.objects.bulk_create(rows, ignore_conflicts=True)


@transaction.atomic
def demo_load(*, users, stdout) -> None:
    pipeline = Pipeline.objects.filter(is_default=True).first()
    if pipeline is None:
        stdout.write("pipeline: no default pipeline, skipped")
        return
    _rates_load(timezone.localdate())
    # The first 80 demo companies in the order the contacts demo generates them, whatever their ids (a
    # deleted and re-created company keeps its place, so its deals are the same again).
    domains = demo_company_domains(users=users, count=80)
    by_domain = {c.domain: c for c in Company.objects.filter(domain__in=domains)}
    companies = [by_domain[d] for d in domains if d in by_domain] or list(Company.objects.order_by("id")[:80])
    if not companies:
        stdout.write("pipeline: no demo companies, skipped (load contacts first)")
        return
    titles = {_title(companies[i % len(companies)], i) for i in range(DEAL_COUNT)}
    present = Counter(
        Deal.objects.filter(pipeline=pipeline, title__in=titles).values_list("title", flat=True)
    )
    first_contact = {}
    for contact in Contact.objects.filter(company__in=companies).order_by("company_id", "id"):
        first_contact.setdefault(contact.company_id, contact)
    owners = _owner_order(users)
    stages = list(pipeline.stages.order_by("position", "id"))
    open_stages = [s for s in stages if s.kind == Stage.Kind.OPEN]
    won = next(s for s in stages if s.kind == Stage.Kind.WON)
    lost = next(s for s in stages if s.kind == Stage.Kind.LOST)

    rng = random.Random(20260501)  # noqa: S311 - demo data
    now = timezone.now()
    today = timezone.localdate()
    plans = []
    for index in range(DEAL_COUNT):
        company = companies[index % len(companies)]
        roll = rng.random()
        if roll < 0.2:
            final, closed_days_ago = won, rng.randint(3, 270)
        elif roll < 0.33:
            final, closed_days_ago = lost, rng.randint(3, 270)
        else:
            final, closed_days_ago = rng.choice(open_stages), None
        amount = Decimal(
            rng.choice((1, 2, 3, 5, 8, 12, 20, 35, 60, 90)) * rng.randint(1, 4) * 1000 + rng.choice((0, 500))
        )
        currency = rng.choices(("USD", "EUR", "GBP", "JPY"), weights=(83, 10, 5, 2))[0]
        if closed_days_ago is None:
            close_date = today + datetime.timedelta(days=rng.randint(-15, 200))
            closed_at = None
            created = now - datetime.timedelta(days=rng.randint(5, 120))
        else:
            closed_at = now - datetime.timedelta(days=closed_days_ago, hours=rng.randint(0, 8))
            close_date = closed_at.date() - datetime.timedelta(days=rng.randint(0, 12))
            created = closed_at - datetime.timedelta(days=rng.randint(10, 90))
        deal = Deal(
            title=_title(company, index),
            amount=amount,
            currency=currency,
            expected_close_date=close_date,
            owner=owners[index % len(owners)] if owners else None,
            company=company,
            contact=first_contact.get(company.pk),
            pipeline=pipeline,
            stage=final,
            next_step="" if closed_at else rng.choice(NEXT_STEPS),
            lost_reason=rng.choice(LOST_REASONS) if final == lost else "",
            closed_at=closed_at,
        )
        plans.append((deal, created))
    plans = [plan for plan in plans if not _already_there(present, plan[0])]
    if not plans:
        stdout.write("pipeline: demo deals already loaded")
        return

    deals = Deal.objects.bulk_create([deal for deal, _ in plans])
    for deal, (_, created) in zip(deals, plans, strict=True):
        deal.created_at = created
    Deal.objects.bulk_update(deals, ["created_at"])

    changes, activities = [], []
    for deal in deals:
        end = deal.closed_at or now
        if deal.stage.kind == Stage.Kind.OPEN:
            path = open_stages[: open_stages.index(deal.stage) + 1]
        else:
            path = [*open_stages[: rng.randint(1, len(open_stages))], deal.stage]
        # A closed deal's last move is its closing moment; an open deal's last move was some time ago.
        span = (end - deal.created_at) / (max(len(path) - 1, 1) if deal.closed_at else len(path))
        previous = None
        for step, stage in enumerate(path):
            changes.append(
                DealStageChange(
                    deal=deal,
                    from_stage=previous,
                    to_stage=stage,
                    from_stage_name=previous.name if previous else "",
                    to_stage_name=stage.name,
                    changed_by=deal.owner,
                    changed_at=deal.created_at + span * step if step else deal.created_at,
                    lost_reason=deal.lost_reason if stage.kind == Stage.Kind.LOST else "",
                )
            )
            previous = stage
        if deal.pk % 3 == 0:
            topic = deal.title.split(": ", 1)[-1].lower()
            activities.append(
                Activity(
                    kind=Activity.Kind.CALL,
                    subject=f"Discovery call about {topic}",
                    body="Talked through volumes, delivery windows and payment terms.",
                    direction=Activity.Direction.OUTBOUND,
                    occurred_at=deal.created_at + datetime.timedelta(days=2),
                    duration_minutes=rng.choice((15, 20, 30, 45)),
                    contact=deal.contact,
                    company=deal.company,
                    deal_id=deal.pk,
                    author=deal.owner,
                )
            )
    DealStageChange.objects.bulk_create(changes)
    Activity.objects.bulk_create(activities)
    stdout.write(f"pipeline: {len(deals)} deals, {len(changes)} stage changes, {len(activities)} activities")
