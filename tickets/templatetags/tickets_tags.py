"""Template helpers of the ticket pages: SLA badges, durations and badge colours."""

from datetime import timedelta

from django import template
from django.utils import timezone

register = template.Library()

STATUS_COLORS = {
    "new": "info",
    "open": "primary",
    "pending": "warning",
    "on_hold": "secondary",
    "solved": "success",
    "closed": "dark",
}
PRIORITY_COLORS = {"low": "secondary", "normal": "info", "high": "warning", "urgent": "danger"}
SLA_COLORS = {
    "breached": "danger",
    "at_risk": "warning",
    "paused": "secondary",
    "running": "success",
    "done": "light",
}


@register.filter
def duration(value: timedelta | None) -> str:
    """A compact length of time: 45m, 3h 05m, 2d 4h."""
    if value is None:
        return "—"
    seconds = int(abs(value.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    mins = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins:02d}m"
    return f"{mins}m"


@register.filter
def status_color(value: str) -> str:
    return STATUS_COLORS.get(value, "secondary")


@register.filter
def priority_color(value: str) -> str:
    return PRIORITY_COLORS.get(value, "secondary")


@register.inclusion_tag("tickets/partials/_sla_badge.html", takes_context=True)
def sla_badge(context, ticket):
    now = context.get("now") or timezone.now()
    clock = ticket.sla_clock(now)
    # A running target gets its due instant (epoch ms) so the page can count down without reloading.
    live = clock.remaining is not None and not clock.paused and (clock.state != "breached" or clock.overdue)
    due_ms = int((now + clock.remaining).timestamp() * 1000) if live else None
    return {"clock": clock, "color": SLA_COLORS[clock.state], "ticket": ticket, "due_ms": due_ms}


@register.filter
def sla_clock_for(ticket, now):
    return ticket.sla_clock(now)


@register.filter
def seconds_duration(value: int) -> str:
    return duration(timedelta(seconds=value or 0))
