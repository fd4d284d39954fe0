"""The home page's sections per role: sales works tasks and this month's deals, support its tickets
(breaching first), marketing watches source and segment health. Each section is a fixed number of queries.

A section is registered with the roles that see it; later features (dashboards) add their own.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from .roles import ADMIN, MARKETING, SALES, SUPPORT

HOME_ROWS = 8


@dataclass(frozen=True)
class HomeSection:
    key: str
    template: str  # rendered with the context the loader returns
    roles: frozenset[str]
    load: Callable[..., dict]
    order: int = 100
    width: str = "col-xl-6"


SECTIONS: list[HomeSection] = []


def home_section_register(section: HomeSection) -> None:
    SECTIONS[:] = sorted(
        [s for s in SECTIONS if s.key != section.key] + [section], key=lambda s: (s.order, s.key)
    )


def user_roles(user) -> set[str]:
    roles = {group.name for group in user.groups.all()}
    return roles | ({ADMIN} if user.is_superuser else set())


def sections_for(user) -> list[dict]:
    """The sections the user's roles see, with their context (admins see every role's sections)."""
    roles = user_roles(user)
    wanted = [s for s in SECTIONS if ADMIN in roles or s.roles & roles]
    if not wanted:  # a user without a role still gets their tasks and recent contacts
        wanted = [s for s in SECTIONS if s.key in ("tasks", "recent")]
    return [{"section": s, **s.load(user=user)} for s in wanted]


# --- the sections of this project -------------------------------------------------------------------


def _tasks(*, user) -> dict:
    from contacts import selectors

    return {"tasks": selectors.task_list_due_for(user=user, limit=HOME_ROWS)}


def _recent(*, user) -> dict:
    from contacts import selectors

    return {"recent_contacts": selectors.contact_list_recent_for(user=user, limit=HOME_ROWS)}


def _deals_closing(*, user) -> dict:
    from pipeline import selectors

    today = timezone.localdate()
    month = today.replace(day=1)
    deals = selectors.deal_filter(
        selectors.deal_queryset(), owner_id=user.pk, close_month=month, status="open"
    ).order_by("expected_close_date", "id")
    return {"closing_deals": list(deals[:HOME_ROWS]), "closing_month": month, "today": today}


def _my_tickets(*, user) -> dict:
    from tickets import selectors

    now = timezone.now()
    tickets = selectors.ticket_queue(user=user, now=now, view="mine", sort="due")
    counts = selectors.ticket_queue_counts(user=user, now=now)
    return {"my_tickets": list(tickets[:HOME_ROWS]), "ticket_counts": counts, "now": now}


def _sources(*, user) -> dict:
    from profiles.models import IngestBatch, Source

    sources = list(Source.objects.order_by("-enabled", "name")[:HOME_ROWS])
    waiting = dict(
        IngestBatch.objects.filter(source__in=sources, processed_at__isnull=True)
        .values("source_id")
        .annotate(n=Count("id"))
        .values_list("source_id", "n")
        .order_by()
    )
    stale_after = timezone.now() - datetime.timedelta(days=1)
    for source in sources:
        source.waiting = waiting.get(source.pk, 0)
        source.quiet = source.enabled and (source.last_event_at is None or source.last_event_at < stale_after)
    return {"sources": sources}


def _segments(*, user) -> dict:
    from segments.models import Delivery, Segment

    segments = list(Segment.objects.order_by("-last_changed_at", "name")[:HOME_ROWS])
    failed = dict(
        Delivery.objects.filter(destination__segment__in=segments)
        .values("destination__segment_id")
        .annotate(n=Count("id", filter=Q(status=Delivery.Status.FAILED)))
        .values_list("destination__segment_id", "n")
        .order_by()
    )
    for segment in segments:
        segment.failed_deliveries = failed.get(segment.pk, 0)
    return {"segments": segments}


for _section in (
    HomeSection("tickets", "cdpcrm/partials/home.html#tickets", frozenset({SUPPORT}), _my_tickets, order=10),
    HomeSection("deals", "cdpcrm/partials/home.html#deals", frozenset({SALES}), _deals_closing, order=20),
    HomeSection("tasks", "cdpcrm/partials/home.html#tasks", frozenset({SALES, SUPPORT}), _tasks, order=30),
    HomeSection("sources", "cdpcrm/partials/home.html#sources", frozenset({MARKETING}), _sources, order=40),
    HomeSection(
        "segments", "cdpcrm/partials/home.html#segments", frozenset({MARKETING}), _segments, order=50
    ),
    HomeSection(
        "recent",
        "cdpcrm/partials/home.html#recent",
        frozenset({SALES, SUPPORT, MARKETING}),
        _recent,
        order=90,
    ),
):
    home_section_register(_section)
