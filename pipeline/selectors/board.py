"""Reads of the deals board: columns, their cards and totals."""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from ..models import Deal, Pipeline, Stage
from .common import CENT, ZERO, deal_filter, stage_list


@dataclass
class MoneyTotal:
    currency: str
    amount: Decimal = ZERO
    weighted: Decimal = ZERO


@dataclass
class BoardColumn:
    stage: Stage
    deals: list[Deal] = field(default_factory=list)
    totals: dict[str, MoneyTotal] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.deals)

    @property
    def total_list(self) -> list[MoneyTotal]:
        return sorted(self.totals.values(), key=lambda t: (t.currency != "USD", t.currency))


def board_columns(
    *,
    pipeline: Pipeline,
    owner_id: str | int | None = None,
    close_month: datetime.date | None = None,
    query: str = "",
) -> list[BoardColumn]:
    """One column per stage with its deals and per-currency totals: two queries whatever the deal count."""
    columns = {stage.pk: BoardColumn(stage=stage) for stage in stage_list(pipeline=pipeline)}
    # Only what a card shows; the stage comes from its column.
    cards = Deal.objects.select_related("owner", "company", "contact").only(
        "title", "amount", "currency", "expected_close_date", "stage_id", "pipeline_id",
        "owner__username", "owner__first_name", "owner__last_name",
        "company__name", "contact__first_name", "contact__last_name", "contact__email",
    )  # fmt: skip
    deals = deal_filter(
        cards,
        pipeline=pipeline,
        owner_id=owner_id,
        close_month=close_month,
        query=query,
    ).order_by("expected_close_date", "id")
    for deal in deals:
        column = columns.get(deal.stage_id)
        if column is None:
            continue
        deal.stage = column.stage
        column.deals.append(deal)
        total = column.totals.setdefault(deal.currency, MoneyTotal(currency=deal.currency))
        total.amount += deal.amount
        total.weighted += deal.amount * column.stage.probability / Decimal(100)
    for column in columns.values():
        for total in column.totals.values():
            total.weighted = total.weighted.quantize(CENT, rounding=ROUND_HALF_UP)
    return list(columns.values())


def board_column(*, stage: Stage, owner_id=None, close_month=None, query: str = "") -> BoardColumn:
    """A single column (after a move), same numbers as `board_columns`."""
    columns = board_columns(pipeline=stage.pipeline, owner_id=owner_id, close_month=close_month, query=query)
    return next(column for column in columns if column.stage.pk == stage.pk)
