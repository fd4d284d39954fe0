"""Reads of the deals board: columns with their first cards, more cards on scroll, totals from SQL.

The board never loads a pipeline's every deal: an open column shows its first BOARD_PAGE cards (by
expected close date, then id) and fetches the next page with a keyset cursor; won and lost columns show
their CLOSED_RECENT most recently closed deals and link to the deals list for the rest. Counts and sums
come from one GROUP BY over (stage, currency), converted into the company currency with today's rates.
"""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Q, Sum
from django.urls import reverse

from common.params import is_id

from ..models import Deal, Pipeline, Stage
from .common import CENT, ZERO, deal_filter, stage_list
from .currency import Rates, rates_on

BOARD_PAGE = 50
CLOSED_RECENT = 20
_PK_MARK = 987654321987  # a card URL is the detail URL of this id with the deal's id put in


@dataclass
class MoneyTotal:
    currency: str
    amount: Decimal = ZERO
    weighted: Decimal = ZERO
    count: int = 0


@dataclass
class ColumnTotals:
    count: int = 0
    by_currency: dict[str, MoneyTotal] = field(default_factory=dict)
    consolidated: Decimal = ZERO  # in the company currency, currencies with a rate only
    consolidated_weighted: Decimal = ZERO
    unconverted: list[str] = field(default_factory=list)  # currencies without a rate today


@dataclass
class BoardColumn:
    stage: Stage
    deals: list[Deal] = field(default_factory=list)
    totals: ColumnTotals = field(default_factory=ColumnTotals)
    next_cursor: str = ""  # "" = no more cards to load
    base: str = "USD"

    @property
    def count(self) -> int:
        return self.totals.count

    @property
    def shown(self) -> int:
        return len(self.deals)

    @property
    def total_list(self) -> list[MoneyTotal]:
        return sorted(self.totals.by_currency.values(), key=lambda t: (t.currency != self.base, t.currency))

    @property
    def is_closed(self) -> bool:
        return self.stage.kind != Stage.Kind.OPEN


def _filtered(qs, *, pipeline=None, owner_id=None, close_month=None, query=""):
    return deal_filter(qs, pipeline=pipeline, owner_id=owner_id, close_month=close_month, query=query)


def board_totals(
    *, stages: list[Stage], rates: Rates, owner_id=None, close_month=None, query: str = ""
) -> dict[int, ColumnTotals]:
    """Count, per-currency and consolidated totals of the given stages' deals: one query."""
    probability = {stage.pk: stage.probability for stage in stages}
    totals = {stage.pk: ColumnTotals() for stage in stages}
    rows = (
        _filtered(
            Deal.objects.filter(stage__in=list(probability)),
            owner_id=owner_id,
            close_month=close_month,
            query=query,
        )
        .values("stage_id", "currency")
        .annotate(
            n=Count("*"), amount=Sum("amount")
        )  # count(*): an index-only scan of deal_column_totals_idx
        .order_by()
    )
    for row in rows:
        column = totals[row["stage_id"]]
        amount = row["amount"] or ZERO
        weighted = (amount * probability[row["stage_id"]] / Decimal(100)).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
        column.count += row["n"]
        column.by_currency[row["currency"]] = MoneyTotal(row["currency"], amount, weighted, row["n"])
        converted = rates.convert(amount, row["currency"])
        if converted is None:
            column.unconverted.append(row["currency"])
        else:
            column.consolidated += converted
            column.consolidated_weighted += converted * probability[row["stage_id"]] / Decimal(100)
    for column in totals.values():
        column.consolidated = column.consolidated.quantize(CENT, rounding=ROUND_HALF_UP)
        column.consolidated_weighted = column.consolidated_weighted.quantize(CENT, rounding=ROUND_HALF_UP)
        column.unconverted.sort()
    return totals


def _cards():
    # Only what a card shows; the stage comes from its column.
    return Deal.objects.select_related("owner", "company", "contact").only(
        "title", "amount", "currency", "expected_close_date", "closed_at", "stage_id", "pipeline_id",
        "owner__username", "owner__first_name", "owner__last_name",
        "company__name", "contact__first_name", "contact__last_name", "contact__email",
    )  # fmt: skip


def cursor_encode(deal: Deal) -> str:
    return f"{deal.expected_close_date.isoformat() if deal.expected_close_date else ''}|{deal.pk}"


def cursor_decode(value: str) -> tuple[datetime.date | None, int] | None:
    day, _, pk = (value or "").partition("|")
    if not is_id(pk):
        return None
    try:
        return (datetime.date.fromisoformat(day) if day else None), int(pk)
    except ValueError:
        return None


def board_cards(
    *,
    stage: Stage,
    after: str = "",
    limit: int = BOARD_PAGE,
    owner_id=None,
    close_month=None,
    query: str = "",
) -> tuple[list[Deal], str]:
    """One page of a column's cards and the cursor of the next page ("" on the last one).

    Open stages: by expected close date (undated last), then id, keyset-paginated. Won and lost: the
    most recently closed CLOSED_RECENT deals, not paginated (the deals list has the rest).
    """
    qs = _filtered(_cards().filter(stage=stage), owner_id=owner_id, close_month=close_month, query=query)
    if stage.kind != Stage.Kind.OPEN:
        # Won and lost deals always have closed_at (deal_move sets it): plain DESC matches the index.
        deals = list(qs.order_by("-closed_at", "-id")[:CLOSED_RECENT])
        cursor = ""
    else:
        position = cursor_decode(after)
        if position is not None:
            day, pk = position
            if day is None:
                qs = qs.filter(expected_close_date__isnull=True, id__gt=pk)
            else:
                qs = qs.filter(
                    Q(expected_close_date__gt=day)
                    | Q(expected_close_date=day, id__gt=pk)
                    | Q(expected_close_date__isnull=True)
                )
        deals = list(qs.order_by(F("expected_close_date").asc(nulls_last=True), "id")[: limit + 1])
        cursor = cursor_encode(deals[limit - 1]) if len(deals) > limit else ""
        deals = deals[:limit]
    detail = reverse("pipeline:deal_detail", args=[_PK_MARK])
    for deal in deals:
        deal.stage = stage
        deal.url = detail.replace(str(_PK_MARK), str(deal.pk))
    return deals, cursor


def board_columns(
    *,
    pipeline: Pipeline,
    owner_id: str | int | None = None,
    close_month: datetime.date | None = None,
    query: str = "",
    rates: Rates | None = None,
) -> list[BoardColumn]:
    """Every column of the pipeline with its first cards and totals: 3 queries plus one per stage."""
    stages = stage_list(pipeline=pipeline)
    rates = rates or rates_on()
    filters = {"owner_id": owner_id, "close_month": close_month, "query": query}
    totals = board_totals(stages=stages, rates=rates, **filters)
    columns = []
    for stage in stages:
        deals, cursor = board_cards(stage=stage, **filters)
        columns.append(
            BoardColumn(
                stage=stage, deals=deals, totals=totals[stage.pk], next_cursor=cursor, base=rates.base
            )
        )
    return columns


def board_heads(
    *, stages: list[Stage], owner_id=None, close_month=None, query: str = ""
) -> list[BoardColumn]:
    """Only the heads (count and totals) of some columns, e.g. the two a move touched: two queries."""
    rates = rates_on()
    totals = board_totals(stages=stages, rates=rates, owner_id=owner_id, close_month=close_month, query=query)
    return [BoardColumn(stage=stage, totals=totals[stage.pk], base=rates.base) for stage in stages]


def board_deal_count(*, pipeline: Pipeline, owner_id=None, close_month=None, query: str = "") -> int:
    qs = _filtered(
        Deal.objects.all(), pipeline=pipeline, owner_id=owner_id, close_month=close_month, query=query
    )
    return qs.count()
