"""The company currency and exchange rates: what consolidated totals are converted with.

A deal keeps its own currency. Totals in the company currency use, per deal currency, the latest rate
valid on a day: today's for open deals (board, forecast of open deals), the close date's for won and lost
deals (closed won, win rates). A currency without a rate is left out of a consolidated total and named.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, DecimalField, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..currencies import DEFAULT_CURRENCY
from ..models import CurrencySettings, ExchangeRate

MONEY = DecimalField(max_digits=30, decimal_places=10)


def base_currency() -> str:
    return CurrencySettings.objects.values_list("base_currency", flat=True).first() or DEFAULT_CURRENCY


@dataclass
class Rates:
    """The rates into `base` valid on `day`: {currency: value of 1 unit in base}."""

    base: str
    day: datetime.date
    values: dict[str, Decimal] = field(default_factory=dict)

    def rate(self, currency: str) -> Decimal | None:
        return Decimal(1) if currency == self.base else self.values.get(currency)

    def convert(self, amount: Decimal, currency: str) -> Decimal | None:
        rate = self.rate(currency)
        return None if rate is None else amount * rate

    @property
    def known(self) -> set[str]:
        return {self.base, *self.values}


def rates_on(*, day: datetime.date | None = None, base: str | None = None) -> Rates:
    """The latest rate of each currency valid on `day` (one query; the rates table is small)."""
    base = base or base_currency()
    day = day or timezone.localdate()
    values: dict[str, Decimal] = {}
    rows = (
        ExchangeRate.objects.filter(base=base, valid_from__lte=day)
        .order_by("currency", "-valid_from")
        .values_list("currency", "rate")
    )
    for currency, rate in rows:
        values.setdefault(currency, rate)
    return Rates(base=base, day=day, values=values)


def rate_on_close_expr(base: str):
    """Per deal: the rate of its currency on its close date (1 for the company currency, NULL if none)."""
    dated = ExchangeRate.objects.filter(
        base=base, currency=OuterRef("currency"), valid_from__lte=OuterRef("closed_at__date")
    ).order_by("-valid_from")
    return Case(
        When(currency=base, then=Value(Decimal(1))),
        default=Subquery(dated.values("rate")[:1]),
        output_field=MONEY,
    )


def converted_on_close_expr(base: str):
    """Per deal: its amount in the company currency at its close date's rate (NULL without a rate)."""
    return F("amount") * rate_on_close_expr(base)


def zero_if_null(expression):
    return Coalesce(expression, Value(Decimal(0)), output_field=MONEY)
