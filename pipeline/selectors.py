"""Reads of the pipeline for pages, the API and search: a fixed number of queries whatever the data size."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, DecimalField, F, Q, QuerySet, Sum, When
from django.db.models.functions import TruncMonth
from django.utils import timezone

from contacts.models import Activity, Task

from .models import Deal, DealStageChange, Pipeline, Stage

COMMITTED_MIN_PROBABILITY = 75
FORECAST_MONTHS = 6
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def pipeline_list() -> list[Pipeline]:
    return list(Pipeline.objects.order_by("-is_default", "name"))


def pipeline_pick(*, pipelines: list[Pipeline], pipeline_id: str | int | None) -> Pipeline | None:
    """The pipeline asked for, else the default one, else the first."""
    by_id = {str(p.pk): p for p in pipelines}
    if pipeline_id and str(pipeline_id) in by_id:
        return by_id[str(pipeline_id)]
    return next((p for p in pipelines if p.is_default), pipelines[0] if pipelines else None)


def stage_list(*, pipeline: Pipeline) -> list[Stage]:
    return list(pipeline.stages.order_by("position", "id"))


def owner_choices() -> QuerySet:
    """Users who can own deals: those with the change_deal permission through a group, or superusers."""
    User = get_user_model()
    return (
        User.objects.filter(
            Q(is_superuser=True)
            | Q(
                groups__permissions__codename="change_deal",
                groups__permissions__content_type__app_label="pipeline",
            )
        )
        .filter(is_active=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def month_parse(value: str | None) -> datetime.date | None:
    """'2026-05' -> date(2026, 5, 1); anything else -> None."""
    try:
        return datetime.datetime.strptime(value or "", "%Y-%m").date()  # noqa: DTZ007 - a calendar month
    except ValueError:
        return None


def month_end(month: datetime.date) -> datetime.date:
    return month_add(month, 1) - datetime.timedelta(days=1)


def month_add(month: datetime.date, months: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def deal_queryset() -> QuerySet[Deal]:
    return Deal.objects.select_related("stage", "pipeline", "owner", "contact", "company")


def deal_filter(
    qs: QuerySet[Deal],
    *,
    pipeline: Pipeline | None = None,
    owner_id: str | int | None = None,
    close_month: datetime.date | None = None,
    query: str = "",
    stage_id: str | int | None = None,
    status: str = "",
) -> QuerySet[Deal]:
    if pipeline is not None:
        qs = qs.filter(pipeline=pipeline)
    if owner_id == "none":
        qs = qs.filter(owner__isnull=True)
    elif owner_id:
        qs = qs.filter(owner_id=owner_id)
    if close_month:
        qs = qs.filter(expected_close_date__gte=close_month, expected_close_date__lte=month_end(close_month))
    for term in (query or "").split():
        qs = qs.filter(
            Q(title__icontains=term)
            | Q(company__name__icontains=term)
            | Q(contact__first_name__icontains=term)
            | Q(contact__last_name__icontains=term)
            | Q(contact__email__icontains=term)
            | Q(next_step__icontains=term)
        )
    if stage_id:
        qs = qs.filter(stage_id=stage_id)
    if status in Stage.Kind.values:
        qs = qs.filter(stage__kind=status)
    return qs


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


LIST_SORTS = {
    "title": ("title", "id"),
    "amount": ("amount", "id"),
    "close": ("expected_close_date", "id"),
    "stage": ("stage__position", "id"),
    "owner": ("owner__first_name", "owner__username", "id"),
    "company": ("company__name", "id"),
    "updated": ("updated_at", "id"),
}


def deal_list(*, sort: str = "close", **filters) -> QuerySet[Deal]:
    key = sort.lstrip("-")
    order = LIST_SORTS.get(key, LIST_SORTS["close"])
    if sort.startswith("-"):
        order = tuple(f"-{name}" for name in order)
    return deal_filter(deal_queryset(), **filters).order_by(*order)


def deal_detail(*, pk: int) -> Deal:
    return deal_queryset().get(pk=pk)


def deal_stage_history(*, deal: Deal) -> QuerySet[DealStageChange]:
    return deal.stage_changes.select_related("changed_by").order_by("-changed_at", "-id")


def deal_activities(*, deal: Deal, limit: int = 50) -> QuerySet[Activity]:
    return (
        Activity.objects.filter(deal_id=deal.pk)
        .select_related("author")
        .order_by("-occurred_at", "-id")[:limit]
    )


def deal_tasks(*, deal: Deal) -> QuerySet[Task]:
    return Task.objects.filter(deal_id=deal.pk).select_related("assignee").order_by("done_at", "due_at", "id")


def deal_list_for_contact(*, contact_id: int) -> QuerySet[Deal]:
    return deal_queryset().filter(contact_id=contact_id).order_by("stage__kind", "expected_close_date", "id")


def deal_list_for_company(*, company_id: int) -> QuerySet[Deal]:
    return deal_queryset().filter(company_id=company_id).order_by("stage__kind", "expected_close_date", "id")


def deal_search(*, query: str, limit: int = 20) -> QuerySet[Deal]:
    return deal_filter(deal_queryset(), query=query).order_by("-updated_at", "-id")[:limit]


# --- forecast ------------------------------------------------------------------------------------------


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


# --- win rates and deals by stage ----------------------------------------------------------------------


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
    *, since: datetime.datetime, pipeline: Pipeline | None = None, currency: str = "USD"
) -> tuple[list[WinRateRow], WinRateRow]:
    """Deals closed since `since`, per owner: won and lost counts (all currencies) and amounts (one currency)."""
    in_currency = Case(When(currency=currency, then=F("amount")), default=ZERO, output_field=DecimalField())
    rows = (
        deal_filter(Deal.objects.all(), pipeline=pipeline)
        .filter(stage__kind__in=[Stage.Kind.WON, Stage.Kind.LOST], closed_at__gte=since)
        .values("owner_id", "stage__kind")
        .annotate(n=Count("id"), total=Sum(in_currency), n_currency=Count("id", filter=Q(currency=currency)))
        .order_by()
    )
    by_owner: dict[int | None, WinRateRow] = {}
    for row in rows:
        entry = by_owner.setdefault(row["owner_id"], WinRateRow())
        if row["stage__kind"] == Stage.Kind.WON:
            entry.won, entry.won_amount = row["n"], row["total"] or ZERO
            entry.won_in_currency = row["n_currency"]
        else:
            entry.lost, entry.lost_amount = row["n"], row["total"] or ZERO
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


def deals_by_stage(*, pipeline: Pipeline | None = None, currency: str = "USD") -> list[StageRow]:
    """Open deals per stage: count (all currencies), amount and weighted amount in one currency."""
    stages = (
        Stage.objects.filter(kind=Stage.Kind.OPEN)
        .select_related("pipeline")
        .order_by("pipeline__name", "position")
    )
    if pipeline is not None:
        stages = stages.filter(pipeline=pipeline)
    rows = {stage.pk: StageRow(stage=stage) for stage in stages}
    in_currency = Case(When(currency=currency, then=F("amount")), default=ZERO, output_field=DecimalField())
    sums = (
        deal_filter(Deal.objects.filter(stage__kind=Stage.Kind.OPEN), pipeline=pipeline)
        .values("stage_id")
        .annotate(n=Count("id"), total=Sum(in_currency))
        .order_by()
    )
    for row in sums:
        entry = rows.get(row["stage_id"])
        if entry is not None:
            entry.count, entry.amount = row["n"], row["total"] or ZERO
            entry.weighted = (entry.amount * entry.stage.probability / 100).quantize(
                CENT, rounding=ROUND_HALF_UP
            )
    return list(rows.values())
