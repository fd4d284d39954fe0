"""Small display helpers for CRM templates: badge colours and icons."""

from django import template

register = template.Library()

LIFECYCLE_COLORS = {
    "subscriber": "secondary",
    "lead": "info",
    "mql": "primary",
    "sql": "primary",
    "opportunity": "warning",
    "customer": "success",
    "evangelist": "dark",
}
ACTIVITY_ICONS = {"note": "sticky", "call": "telephone", "meeting": "people", "email": "envelope"}
TIER_COLORS = {"bronze": "#a0522d", "silver": "#6c757d", "gold": "#c9a227", "platinum": "#4b6584"}
TAG_COLORS = {"VIP": "warning", "returns-risk": "danger", "wholesale": "primary", "newsletter": "info"}


@register.filter
def lifecycle_color(stage: str) -> str:
    return LIFECYCLE_COLORS.get(stage, "secondary")


@register.filter
def activity_icon(kind: str) -> str:
    return ACTIVITY_ICONS.get(kind, "dot")


@register.filter
def tier_color(tier: str) -> str:
    return TIER_COLORS.get(tier, "#6c757d")


@register.filter
def tag_color(tag) -> str:
    color = getattr(tag, "color", "") or "secondary"
    return TAG_COLORS.get(getattr(tag, "name", ""), color)
