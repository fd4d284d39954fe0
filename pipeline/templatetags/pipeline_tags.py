"""Template filters of the deal pages."""

from decimal import Decimal

from django import template

from ..currencies import minor_units

register = template.Library()


@register.filter
def money(value, places: int = 2) -> str:
    """1234.5 -> "1,234.50" (fast enough for a board of hundreds of cards)."""
    if value is None or value == "":
        return ""
    return f"{Decimal(value):,.{int(places)}f}"


@register.filter
def money_in(value, currency: str) -> str:
    """An amount with its currency's minor units: 1234.5 EUR -> "1,234.50", 1234 JPY -> "1,234"."""
    if value is None or value == "":
        return ""
    return f"{Decimal(value):,.{minor_units(currency)}f}"
