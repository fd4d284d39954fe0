"""Template filters of the deal pages."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def money(value, places: int = 2) -> str:
    """1234.5 -> "1,234.50" (fast enough for a board of hundreds of cards)."""
    if value is None or value == "":
        return ""
    return f"{Decimal(value):,.{int(places)}f}"
