"""ISO 4217 currencies (the `iso4217` package's table): codes, names and minor units for amounts."""

from decimal import Decimal
from functools import lru_cache

import iso4217

DEFAULT_CURRENCY = "USD"
# Codes that are not money a deal is priced in: precious metals, SDRs, bond units, testing, "no currency".
NOT_FOR_DEALS = frozenset(
    {"XAU", "XAG", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA", "XTS", "XXX"}
)


@lru_cache(maxsize=1)
def _table() -> dict[str, tuple[str, int]]:
    table = {}
    for currency in iso4217.Currency:
        if currency.code in NOT_FOR_DEALS:
            continue
        exponent = currency.exponent if currency.exponent is not None else 2
        table[currency.code] = (currency.currency_name, exponent)
    return dict(sorted(table.items()))


CURRENCY_CODES: tuple[str, ...] = tuple(_table())
CURRENCY_CHOICES: list[tuple[str, str]] = [(code, f"{code} – {name}") for code, (name, _) in _table().items()]


def currency_name(code: str) -> str:
    return _table().get(code, (code, 2))[0]


def minor_units(code: str) -> int:
    """Digits after the decimal point: 2 for EUR, 0 for JPY, 3 for KWD."""
    return _table().get(code, ("", 2))[1]


def quantum(code: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(code))
