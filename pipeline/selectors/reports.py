"""Win rates per owner and open deals per stage."""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, DecimalField, F, Q, Sum, When

from ..models import Deal, Pipeline, Stage
from .common import CENT, ZERO, deal_filter
from .currency import base_currency, converted_on_close_expr, rates_on


@dataclass
class WinRateRow:
    owner: object = None
    won: int = 0
    lost: int = 0
    won_amount: Decimal = ZERO
    lost_amount: Decimal = ZERO
    won_in_currency: int = 0  # the wins that make up won_amount

    @property
    def closed(self) -> int:
        return self.won + self.lost

    @property
    def rate(self) -> float | None:
        """Won / (won + lost) in percent, None when nothing closed."""
        return round(100 * self.won / self.closed, 1) if self.closed else None

    @property
    def average_won(self) -> Decimal | None:
        if not self.won_in_currency:
            return None
        return (self.won_amount / self.won_in_currency).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class StageRow:
    stage: Stage
    count: int = 0
    amount: Decimal = ZERO
    weighted: Decimal = ZERO


def win_rates(
    *, since: datetime.datetime, pipeline: Pipeline | None = None, currency: str | None = None
) -> tuple[list[WinRateRow], WinRateRow]:
    """Deals closed since `since`, per owner: won and lost counts (all currencies) and amounts.

    Amounts are in the company currency (each deal converted at its close date's rate; deals without
    a rate count in the win rate but not in the amounts), or, with `currency`, of that currency only.
    """
    closed = deal_filter(Deal.objects.all(), pipeline=pipeline).filter(
        stage__kind__in=[Stage.Kind.WON, Stage.Kind.LOST], closed_at__gte=since
    )
    if currency is None:
        closed = closed.annotate(converted=converted_on_close_expr(base_currency()))
        sums = {"total": Sum("converted"), "n_currency": Count("converted")}
    else:
        in_currency = Case(
            When(currency=currency, then=F("amount")), default=ZERO, output_field=DecimalField()
        )
        sums = {"total": Sum(in_currency), "n_currency": Count("id", filter=Q(currency=currency))}
    rows = closed.values("owner_id", "stage__kind").annotate(n=Count("id"), **sums).order_by()
    by_owner: dict[int | None, WinRateRow] = {}
    for row in rows:
        entry = by_owner.setdefault(row["owner_id"], WinRateRow())
        if row["stage__kind"] == Stage.Kind.WON:
            entry.won, entry.won_amount = (
                row["n"],
                (row["total"] or ZERO).quantize(CENT, rounding=ROUND_HALF_UP),
            )
            entry.won_in_currency = row["n_currency"]
        else:
            entry.lost, entry.lost_amount = (
                row["n"],
                (row["total"] or ZERO).quantize(CENT, rounding=ROUND_HALF_UP),
            )
    users = get_user_model().objects.in_bulk([pk for pk in by_owner if pk is not None])
    total = WinRateRow()
    for owner_id, entry in by_owner.items():
        entry.owner = users.get(owner_id)
        total.won += entry.won
        total.lost += entry.lost
        total.won_amount += entry.won_amount
        total.won_in_currency += entry.won_in_currency
        total.lost_amount += entry.lost_amount
    ordered = sorted(by_owner.values(), key=lambda e: (e.owner is None, -(e.rate or 0), -e.won_amount))
    return ordered, total


def deals_by_stage(*, pipeline: Pipeline | None = None, currency: str | None = None) -> list[StageRow]:
    """Open deals per stage: count (all currencies), amount and weighted amount.

    Amounts in the company currency at today's rates (currencies without a rate left out), or of
    `currency` only.
    """
    stages = (
        Stage.objects.filter(kind=Stage.Kind.OPEN)
        .select_related("pipeline")
        .order_by("pipeline__name", "position")
    )
    if pipeline is not None:
        stages = stages.filter(pipeline=pipeline)
    rows = {stage.pk: StageRow(stage=stage) for stage in stages}
    rates = rates_on() if currency is None else None
    sums = (
        deal_filter(Deal.objects.filter(stage__kind=Stage.Kind.OPEN), pipeline=pipeline)
        .values("stage_id", "currency")
        .annotate(n=Count("id"), total=Sum("amount"))
        .order_by()
    )
    for row in sums:
        entry = rows.get(row["stage_id"])
        if entry is None:
            continue
        entry.count += row["n"]
        total = row["total"] or ZERO
        amount = (
            rates.convert(total, row["currency"])
            if rates
            else (total if row["currency"] == currency else ZERO)
        )
        entry.amount += amount or ZERO
    for entry in rows.values():
        entry.amount = entry.amount.quantize(CENT, rounding=ROUND_HALF_UP)
        entry.weighted = (entry.amount * entry.stage.probability / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return list(rows.values())
