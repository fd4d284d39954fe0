"""The forecast: weighted, best case, committed and closed won per month and quarter, per owner."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.db.models import Case, DecimalField, F, Sum, When
from django.db.models.functions import TruncMonth
from django.utils import timezone

from ..models import Deal, Pipeline, Stage
from .common import CENT, ZERO, deal_filter, month_add, month_end
from .currency import converted_on_close_expr, rates_on

COMMITTED_MIN_PROBABILITY = 75
FORECAST_MONTHS = 6


@dataclass
class Figures:
    weighted: Decimal = ZERO
    best_case: Decimal = ZERO
    committed: Decimal = ZERO
    won: Decimal = ZERO

    def add(self, other: "Figures") -> None:
        self.weighted += other.weighted
        self.best_case += other.best_case
        self.committed += other.committed
        self.won += other.won


@dataclass
class ForecastPeriod:
    label: str
    start: datetime.date
    end: datetime.date
    total: Figures = field(default_factory=Figures)
    by_owner: dict[int | None, Figures] = field(default_factory=dict)


@dataclass
class Forecast:
    currency: str
    today: datetime.date
    months: list[ForecastPeriod]
    quarters: list[ForecastPeriod]
    owners: dict[int | None, object]
    other_currencies: list[str]  # one-currency forecast: the currencies it leaves out
    consolidated: bool = False  # every currency converted into `currency` (the company currency)
    unconverted: list[str] = field(default_factory=list)  # consolidated: currencies without a rate

    def periods(self, by: str) -> list[ForecastPeriod]:
        return self.quarters if by == "quarter" else self.months

    def owner_rows(self, period: ForecastPeriod) -> list[tuple[object, Figures]]:
        rows = [(self.owners.get(owner_id), figures) for owner_id, figures in period.by_owner.items()]
        return sorted(
            rows,
            key=lambda row: (row[0] is None, row[0].get_full_name() or row[0].username if row[0] else ""),
        )


def _quarter_start(day: datetime.date) -> datetime.date:
    return datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _open_figures(row, amount_of) -> tuple[Decimal, Decimal, Decimal] | None:
    """best case, weighted, committed of an aggregated row, converted by `amount_of` (None: no rate)."""
    best = amount_of(row["best_case"] or ZERO)
    if best is None:
        return None
    weighted = (amount_of((row["weighted_x100"] or ZERO) / 100)).quantize(CENT, rounding=ROUND_HALF_UP)
    return best, weighted, amount_of(row["committed"] or ZERO)


def forecast_build(
    *,
    today: datetime.date | None = None,
    pipeline: Pipeline | None = None,
    owner_id: str | int | None = None,
    currency: str | None = None,
) -> Forecast:
    """Weighted, best case, committed and closed-won per month (next 6) and per quarter, per owner and total.

    Without `currency` every deal counts, converted into the company currency: open deals at today's
    rate, won deals at the rate of their close date; a currency without a rate is left out and named in
    `unconverted`. With `currency`, only deals in that currency count (`other_currencies` names the rest).
    Open deals whose expected close date has passed count in the current month (they are still
    expected); open deals without a close date are left out. Closed-won counts deals won (closed_at)
    in the period. Quarters are whole calendar quarters covering the 6 months.
    """
    today = today or timezone.localdate()
    first_month = today.replace(day=1)
    last_month = month_add(first_month, FORECAST_MONTHS - 1)
    range_start = _quarter_start(first_month)
    range_end = month_end(month_add(_quarter_start(last_month), 2))
    consolidated = currency is None
    rates = rates_on(day=today) if consolidated else None
    shown_currency = rates.base if consolidated else currency

    base = deal_filter(Deal.objects.all(), pipeline=pipeline, owner_id=owner_id)
    deals = base if consolidated else base.filter(currency=currency)
    amount_field = DecimalField(max_digits=20, decimal_places=2)
    group = ("owner_id", "month", "currency") if consolidated else ("owner_id", "month")
    open_rows = (
        deals.filter(
            stage__kind=Stage.Kind.OPEN,
            expected_close_date__isnull=False,
            expected_close_date__lte=range_end,
        )
        .annotate(month=TruncMonth("expected_close_date"))
        .values(*group)
        .annotate(
            best_case=Sum("amount"),
            weighted_x100=Sum(F("amount") * F("stage__probability"), output_field=amount_field),
            committed=Sum(
                Case(
                    When(stage__probability__gte=COMMITTED_MIN_PROBABILITY, then=F("amount")),
                    default=ZERO,
                    output_field=amount_field,
                )
            ),
        )
        .order_by()
    )
    tz = timezone.get_current_timezone()
    start_dt = datetime.datetime.combine(range_start, datetime.time.min, tzinfo=tz)
    end_dt = datetime.datetime.combine(range_end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    won = deals.filter(stage__kind=Stage.Kind.WON, closed_at__gte=start_dt, closed_at__lt=end_dt)
    if consolidated:
        won = won.annotate(converted=converted_on_close_expr(rates.base))
    won_rows = (
        won.annotate(month=TruncMonth("closed_at", tzinfo=tz))
        .values("owner_id", "month")
        .annotate(won=Sum("converted" if consolidated else "amount"))
        .order_by()
    )

    unconverted: set[str] = set()
    cells: dict[tuple[datetime.date, int | None], Figures] = defaultdict(Figures)
    for row in open_rows:
        month = _as_date(row["month"])
        month = max(month, first_month)  # overdue but still open: expected now
        if consolidated:
            figures = _open_figures(row, lambda amount, code=row["currency"]: rates.convert(amount, code))
            if figures is None:
                unconverted.add(row["currency"])
                continue
        else:
            figures = _open_figures(row, lambda amount: amount)
        cell = cells[(month, row["owner_id"])]
        cell.best_case += figures[0].quantize(CENT, rounding=ROUND_HALF_UP)
        cell.weighted += figures[1]
        cell.committed += figures[2].quantize(CENT, rounding=ROUND_HALF_UP)
    for row in won_rows:
        cells[(_as_date(row["month"]), row["owner_id"])].won += (row["won"] or ZERO).quantize(
            CENT, rounding=ROUND_HALF_UP
        )

    def period(label: str, start: datetime.date, end: datetime.date) -> ForecastPeriod:
        result = ForecastPeriod(label=label, start=start, end=end)
        for (month, owner), figures in cells.items():
            if start <= month <= end:
                result.total.add(figures)
                result.by_owner.setdefault(owner, Figures()).add(figures)
        return result

    months = [
        period(m.strftime("%b %Y"), m, month_end(m))
        for m in (month_add(first_month, i) for i in range(FORECAST_MONTHS))
    ]
    quarters = []
    quarter = range_start
    while quarter <= last_month:
        label = f"Q{(quarter.month - 1) // 3 + 1} {quarter.year}"
        quarters.append(period(label, quarter, month_end(month_add(quarter, 2))))
        quarter = month_add(quarter, 3)

    owner_ids = {owner for (_, owner) in cells if owner is not None}
    owners = {user.pk: user for user in get_user_model().objects.filter(pk__in=owner_ids)}
    if consolidated:
        unconverted |= set(
            won.filter(converted__isnull=True).values_list("currency", flat=True).distinct().order_by()
        )
        other_currencies = []
    else:
        other_currencies = sorted(
            set(base.exclude(currency=currency).values_list("currency", flat=True).distinct().order_by())
        )
    return Forecast(
        currency=shown_currency,
        today=today,
        months=months,
        quarters=quarters,
        owners=owners,
        other_currencies=other_currencies,
        consolidated=consolidated,
        unconverted=sorted(unconverted),
    )


def _as_date(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value
