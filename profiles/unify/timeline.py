"""The unified timeline: a profile's events interleaved with its contact's CRM history, newest first.

Each source (events, activities, tasks, deal stage changes, ticket messages, loyalty notes) is read with
the same keyset condition on (time, kind, id) and a LIMIT of one page, then the pages are merged in
memory: one query per source whatever the history length. Events of profiles merged into this one
were moved to it by the merge, so the profile's events are the whole behavioural history.

Higher apps add sources without this module importing them: `timeline_provider_register(provider)` with
an object that has `kind`, `label`, `icon` and `items(profile=, contact=, cursor=, limit=)` returning at
most `limit` TimelineItems newest first, read with `keyset_page` in ONE query (so a page still costs a
fixed number of queries).
"""

import datetime
from dataclasses import dataclass, field
from typing import Protocol

from django.db.models import Q, QuerySet

from common.params import datetime_param, is_id
from contacts.models import Activity, Contact, LoyaltyNote, Task
from pipeline.models import DealStageChange
from tickets.models import TicketMessage

from ..ingest.clean import json_clean, text_clean
from ..models import Event, Profile

PAGE_SIZE = 25
CRM_CHANNEL = "crm"

# kind -> (label, icon); the kind's name also orders items that share a timestamp.
KINDS = {
    "event": ("Behaviour", "lightning"),
    "activity": ("Activity", "journal-text"),
    "task": ("Task", "check2-square"),
    "deal": ("Deal stage", "kanban"),
    "ticket": ("Ticket message", "chat-left-text"),
    "loyalty": ("Loyalty", "award"),
}
EVENT_ICONS = {"page": "window", "screen": "phone", "identify": "person-check", "group": "building"}
EVENT_NAME_ICONS = (
    ("order", "bag-check"),
    ("cart", "cart"),
    ("product", "tag"),
    ("email", "envelope-open"),
    ("app", "phone"),
)


@dataclass
class TimelineItem:
    time: datetime.datetime
    kind: str
    id: int
    icon: str
    summary: str
    channel: str
    details: dict = field(default_factory=dict)
    highlights: list[tuple[str, str]] = field(default_factory=list)  # key properties shown inline

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind][0]

    @property
    def detail_pairs(self) -> list[tuple[str, object]]:
        """(name, value) pairs for the template: `details.items` there would read a property named "items"
        (or "keys", "values", "get", ...) instead of calling the method. Text a response cannot encode
        (a lone surrogate stored before it was cleaned at ingestion) is replaced."""
        return [(text_clean(str(key)), json_clean(value)) for key, value in self.details.items()]

    @property
    def summary_text(self) -> str:
        return text_clean(self.summary)


@dataclass
class Cursor:
    time: datetime.datetime
    kind: str
    id: int

    def encode(self) -> str:
        return f"{self.time.isoformat()}|{self.kind}|{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> "Cursor | None":
        if not text:
            return None
        try:
            time_text, kind, pk = text.rsplit("|", 2)
            time = datetime_param(time_text)
            if time is None or time.tzinfo is None or kind not in KINDS or not is_id(pk):
                return None
            return cls(time, kind, int(pk))
        except ValueError:
            return None


@dataclass
class TimelinePage:
    items: list[TimelineItem]
    next_cursor: str | None


def _before(queryset: QuerySet, *, time_field: str, kind: str, cursor: Cursor | None) -> QuerySet:
    """Rows strictly after the cursor in (time desc, kind desc, id desc) order."""
    if cursor is None:
        return queryset
    if kind < cursor.kind:
        return queryset.filter(**{f"{time_field}__lte": cursor.time})
    if kind > cursor.kind:
        return queryset.filter(**{f"{time_field}__lt": cursor.time})
    return queryset.filter(
        Q(**{f"{time_field}__lt": cursor.time}) | Q(**{time_field: cursor.time, "id__lt": cursor.id})
    )


def _page(queryset: QuerySet, *, time_field: str, kind: str, cursor: Cursor | None, limit: int) -> list:
    queryset = _before(queryset, time_field=time_field, kind=kind, cursor=cursor)
    return list(queryset.order_by(f"-{time_field}", "-id")[:limit])


keyset_page = _page  # for registered providers


class TimelineProvider(Protocol):
    kind: str
    label: str
    icon: str

    def items(
        self, *, profile: Profile | None, contact: Contact | None, cursor: Cursor | None, limit: int
    ) -> list["TimelineItem"]: ...


_PROVIDERS: dict[str, TimelineProvider] = {}


def timeline_provider_register(provider: TimelineProvider) -> None:
    """Add a source of timeline items (its kind joins the filters and the cursor's kinds)."""
    _PROVIDERS[provider.kind] = provider
    KINDS[provider.kind] = (provider.label, provider.icon)


def _event_icon(event: Event) -> str:
    if event.type != "track":
        return EVENT_ICONS.get(event.type, "lightning")
    lowered = event.name.lower()
    return next((icon for word, icon in EVENT_NAME_ICONS if word in lowered), "lightning")


def _event_summary(event: Event) -> str:
    if event.type == "track":
        return event.name
    if event.type == "page":
        url = (event.context.get("page") or {}).get("path") or event.properties.get("path") or ""
        return f"Viewed page {event.name or url}".strip()
    if event.type == "screen":
        return f"Viewed screen {event.name}".strip()
    if event.type == "identify":
        return "Identified" + (f" as {event.user_id}" if event.user_id else "")
    if event.type == "group":
        return f"Joined group {event.group_id}"
    return f"Alias {event.previous_id} → {event.user_id}"


def _text(value, limit: int = 120) -> str:
    text = value if isinstance(value, str) else "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def event_highlights(properties: dict, context: dict | None = None) -> list[tuple[str, str]]:
    """The properties a person wants without opening Details: amount and currency, product, page URL.

    Values of any JSON type are accepted (the tracking API takes whatever clients send).
    """
    properties = properties if isinstance(properties, dict) else {}
    context = context if isinstance(context, dict) else {}
    shown: list[tuple[str, str]] = []
    amount = next(
        (
            properties[k]
            for k in ("revenue", "total", "value", "price")
            if properties.get(k) not in (None, "")
        ),
        None,
    )
    if isinstance(amount, int | float | str) and not isinstance(amount, bool):
        currency = properties.get("currency")
        shown.append(
            ("amount", _text(f"{currency} {amount}" if isinstance(currency, str) and currency else amount))
        )
    products = properties.get("products")
    product = next(
        (properties[k] for k in ("product", "product_name", "name") if isinstance(properties.get(k), str)), ""
    )
    if not product and isinstance(products, list) and products and isinstance(products[0], dict):
        first = products[0].get("name") or products[0].get("sku") or ""
        product = f"{first} and {len(products) - 1} more" if len(products) > 1 and first else first
    if product:
        shown.append(("product", _text(product)))
    page = context.get("page") if isinstance(context.get("page"), dict) else {}
    url = properties.get("url") or page.get("url")
    if isinstance(url, str) and url:
        shown.append(("page", _text(url, 200)))
    return shown


def _event_item(event: Event) -> TimelineItem:
    details = {**event.properties}
    if event.traits:
        details.update({f"trait {k}": v for k, v in event.traits.items()})
    campaign = event.context.get("campaign") if isinstance(event.context.get("campaign"), dict) else {}
    if campaign:
        details.update({f"campaign {k}": v for k, v in campaign.items()})
    return TimelineItem(
        time=event.timestamp,
        kind="event",
        id=event.pk,
        icon=_event_icon(event),
        summary=_event_summary(event),
        channel=event.source.name,
        details=details,
        highlights=event_highlights(event.properties, event.context),
    )


def _person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


def _crm_items(rows: list, kind: str) -> list[TimelineItem]:
    items = []
    for row in rows:
        if kind == "activity":
            summary = f"{row.get_kind_display()}: {row.subject or row.body[:80]}"
            details = (
                {"by": _person(row.author), "notes": row.body} if row.body else {"by": _person(row.author)}
            )
            items.append(
                TimelineItem(row.occurred_at, kind, row.pk, KINDS[kind][1], summary, CRM_CHANNEL, details)
            )
        elif kind == "task":
            state = "done" if row.done_at else "open"
            details = {"assignee": _person(row.assignee), "due": row.due_at, "state": state}
            if row.notes:
                details["notes"] = row.notes
            items.append(
                TimelineItem(
                    row.created_at, kind, row.pk, KINDS[kind][1], f"Task: {row.title}", CRM_CHANNEL, details
                )
            )
        elif kind == "deal":
            moved = (
                f"from {row.from_stage_name} to {row.to_stage_name}"
                if row.from_stage_name
                else f"created in {row.to_stage_name}"
            )
            details = {"amount": f"{row.deal.amount} {row.deal.currency}", "by": _person(row.changed_by)}
            if row.lost_reason:
                details["lost reason"] = row.lost_reason
            items.append(
                TimelineItem(
                    row.changed_at,
                    kind,
                    row.pk,
                    KINDS[kind][1],
                    f"Deal {row.deal.title} {moved}",
                    CRM_CHANNEL,
                    details,
                )
            )
        elif kind == "ticket":
            who = (
                "Customer wrote"
                if row.author_contact_id
                else ("Internal note" if row.internal else "Support replied")
            )
            summary = f"{who} on ticket: {row.ticket.subject}"
            details = {"message": row.body, "by": _person(row.author_user) or "customer"}
            items.append(
                TimelineItem(row.created_at, kind, row.pk, KINDS[kind][1], summary, CRM_CHANNEL, details)
            )
        else:
            if row.kind == LoyaltyNote.Kind.TIER_CHANGE:
                summary = f"Tier changed from {row.tier_from} to {row.tier_to}"
            elif row.points_delta:
                summary = f"{row.get_kind_display()}: {row.points_delta:+d} points"
            else:
                summary = row.get_kind_display()
            details = (
                {"note": row.text, "by": _person(row.author)} if row.text else {"by": _person(row.author)}
            )
            items.append(
                TimelineItem(row.created_at, kind, row.pk, KINDS[kind][1], summary, CRM_CHANNEL, details)
            )
    return items


def timeline_page(
    *,
    profile: Profile | None,
    contact: Contact | None,
    cursor: Cursor | None = None,
    kind: str = "",
    channel: str = "",
    limit: int = PAGE_SIZE,
) -> TimelinePage:
    """One page of the timeline. `kind` is a KINDS key; `channel` a Source id or "crm". One query per source."""
    fetch = limit + 1
    wanted = {k for k in KINDS if not kind or k == kind}
    if channel == CRM_CHANNEL:
        wanted.discard("event")
    elif channel in _PROVIDERS:
        wanted &= {channel}
    elif channel:
        wanted &= {"event"}
    items: list[TimelineItem] = []
    if "event" in wanted and profile is not None:
        events = Event.objects.filter(profile=profile).select_related("source")
        if channel and channel != CRM_CHANNEL:
            events = events.filter(source_id=int(channel)) if is_id(channel) else events.none()
        items += [
            _event_item(e)
            for e in _page(events, time_field="timestamp", kind="event", cursor=cursor, limit=fetch)
        ]
    if contact is not None:
        sources = {
            "activity": (Activity.objects.filter(contact=contact).select_related("author"), "occurred_at"),
            "task": (Task.objects.filter(contact=contact).select_related("assignee"), "created_at"),
            "deal": (
                DealStageChange.objects.filter(deal__contact=contact).select_related("deal", "changed_by"),
                "changed_at",
            ),
            "ticket": (
                TicketMessage.objects.filter(ticket__contact=contact).select_related("ticket", "author_user"),
                "created_at",
            ),
            "loyalty": (
                LoyaltyNote.objects.filter(account__contact=contact).select_related("author"),
                "created_at",
            ),
        }
        for name, (queryset, time_field) in sources.items():
            if name in wanted:
                rows = _page(queryset, time_field=time_field, kind=name, cursor=cursor, limit=fetch)
                items += _crm_items(rows, name)
    for name, provider in _PROVIDERS.items():
        if name in wanted and (not channel or channel == name):
            items += provider.items(profile=profile, contact=contact, cursor=cursor, limit=fetch)
    items.sort(key=lambda item: (item.time, item.kind, item.id), reverse=True)
    page, more = items[:limit], len(items) > limit
    next_cursor = Cursor(page[-1].time, page[-1].kind, page[-1].id).encode() if more and page else None
    return TimelinePage(items=page, next_cursor=next_cursor)
