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
    other_currencies: list[str]

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


def forecast_build(
    *,
    today: datetime.date | None = None,
    pipeline: Pipeline | None = None,
    owner_id: str | int | None = None,
    currency: str = "USD",
) -> Forecast:
    """Weighted, best case, committed and closed-won per month (next 6) and per quarter, per owner and total.

    Amounts are never added across currencies: the forecast is for one currency at a time.
    Open deals whose expected close date has passed count in the current month (they are still
    expected); open deals without a close date are left out. Closed-won counts deals won (closed_at)
    in the period. Quarters are whole calendar quarters covering the 6 months.
    """
    today = today or timezone.localdate()
    first_month = today.replace(day=1)
    last_month = month_add(first_month, FORECAST_MONTHS - 1)
    range_start = _quarter_start(first_month)
    range_end = month_end(month_add(_quarter_start(last_month), 2))

    base = deal_filter(Deal.objects.all(), pipeline=pipeline, owner_id=owner_id)
    amount_field = DecimalField(max_digits=20, decimal_places=2)
    open_rows = (
        base.filter(
            currency=currency,
            stage__kind=Stage.Kind.OPEN,
            expected_close_date__isnull=False,
            expected_close_date__lte=range_end,
        )
        .annotate(month=TruncMonth("expected_close_date"))
        .values("owner_id", "month")
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
    won_rows = (
        base.filter(
            currency=currency, stage__kind=Stage.Kind.WON, closed_at__gte=start_dt, closed_at__lt=end_dt
        )
        .annotate(month=TruncMonth("closed_at", tzinfo=tz))
        .values("owner_id", "month")
        .annotate(won=Sum("amount"))
        .order_by()
    )

    cells: dict[tuple[datetime.date, int | None], Figures] = defaultdict(Figures)
    for row in open_rows:
        month = _as_date(row["month"])
        month = max(month, first_month)  # overdue but still open: expected now
        cell = cells[(month, row["owner_id"])]
        cell.best_case += row["best_case"] or ZERO
        cell.weighted += ((row["weighted_x100"] or ZERO) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        cell.committed += row["committed"] or ZERO
    for row in won_rows:
        cells[(_as_date(row["month"]), row["owner_id"])].won += row["won"] or ZERO

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
    other_currencies = sorted(
        set(base.exclude(currency=currency).values_list("currency", flat=True).distinct().order_by())
    )
    return Forecast(
        currency=currency,
        today=today,
        months=months,
        quarters=quarters,
        owners=owners,
        other_currencies=other_currencies,
    )


def _as_date(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value
