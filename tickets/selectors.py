"""Reads of tickets shared by pages, the API, search and reports; fixed query counts."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    Avg,
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Least

from common.params import is_id
from contacts.models import Contact
from contacts.search import any_of, contact_term_q, text_q

from .models import DONE_STATUSES, PRIORITY_RANK, Priority, Ticket, TicketEvent, TicketMessage
from .sla import breached_q, breaching_within_q

QUEUE_VIEWS = {
    "mine": "My open tickets",
    "unassigned": "Unassigned",
    "open": "All open",
    "breaching": "Breaching within 1h",
    "breached": "Breached",
    "all": "All tickets",
}
BREACHING_WINDOW = timedelta(hours=1)
QUEUE_SORTS = {
    "due": ("next_due_at", "id"),
    "-due": ("-next_due_at", "-id"),
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "-updated": ("-updated_at", "-id"),
    "updated": ("updated_at", "id"),
}
UNSOLVED = ~Q(status__in=[s.value for s in DONE_STATUSES])


def _view_q(*, view: str, user, now: datetime) -> Q:
    if view == "mine":
        return UNSOLVED & Q(assignee=user)
    if view == "unassigned":
        return UNSOLVED & Q(assignee__isnull=True)
    if view == "open":
        return UNSOLVED
    if view == "breaching":
        return breaching_within_q(now=now, window=BREACHING_WINDOW)
    if view == "breached":
        return breached_q(now=now)
    return Q()


def ticket_queue(
    *,
    user,
    now: datetime,
    view: str = "open",
    status: str = "",
    priority: str = "",
    team_id: int | None = None,
    channel: str = "",
    tag_id: int | None = None,
    query: str = "",
    sort: str = "due",
) -> QuerySet[Ticket]:
    """Tickets of a queue view with its filters, the row data joined and the next SLA due time annotated."""
    qs = Ticket.objects.filter(_view_q(view=view, user=user, now=now))
    if status:
        qs = qs.filter(status=status)
    if priority:
        qs = qs.filter(priority=priority)
    if team_id:
        qs = qs.filter(team_id=team_id)
    if channel:
        qs = qs.filter(channel=channel)
    if tag_id:
        qs = qs.filter(tags__id=tag_id)
    if query:
        qs = qs.filter(ticket_search_q(query))
    qs = qs.select_related("contact", "company", "assignee", "team").prefetch_related("tags")
    qs = qs.annotate(
        next_due_at=Case(
            When(status__in=[s.value for s in DONE_STATUSES], then=None),
            # A paused resolution clock has no due time; an unanswered ticket still owes its first response.
            When(paused_at__isnull=False, first_responded_at__isnull=True, then=F("first_response_due_at")),
            When(paused_at__isnull=False, then=None),
            When(first_responded_at__isnull=True, then=Least("first_response_due_at", "resolution_due_at")),
            default=F("resolution_due_at"),
        )
    )
    order = QUEUE_SORTS.get(sort, QUEUE_SORTS["due"])
    if order[0] == "next_due_at":
        return qs.order_by(F("next_due_at").asc(nulls_last=True), "id")
    if order[0] == "-next_due_at":
        return qs.order_by(F("next_due_at").desc(nulls_last=True), "-id")
    return qs.order_by(*order)


def ticket_queue_counts(*, user, now: datetime) -> dict[str, int]:
    """How many tickets each queue view holds, in one query."""
    aggregates = {
        view: Count("id", filter=_view_q(view=view, user=user, now=now))
        for view in QUEUE_VIEWS
        if view != "all"
    }
    aggregates["all"] = Count("id")
    return Ticket.objects.aggregate(**aggregates)


def ticket_search_q(query: str) -> Q:
    """Each term in the subject or the customer's name or e-mail; "#12" (or "12") is also the reference."""
    q = Q()
    for term in query.split():
        ref = term.lstrip("#")
        customers = Contact.objects.filter(contact_term_q(term)).values("pk")
        branches = [
            Ticket.objects.filter(text_q(term, ("subject",))),
            Ticket.objects.filter(contact__in=customers),
        ]
        if is_id(ref):
            branches.append(Ticket.objects.filter(pk=int(ref)))
        q &= any_of(Ticket, *branches)
    return q


def ticket_search(*, query: str, limit: int = 20) -> list[Ticket]:
    """The best matches for a search box: the reference or exact subject first, then subject prefixes."""
    query = (query or "").strip()
    ref = query.lstrip("#")
    exact = Q(subject__iexact=query) | (Q(pk=int(ref)) if is_id(ref) else Q(pk__in=[]))
    rank = Case(
        When(exact, then=Value(0)),
        When(subject__istartswith=query, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return list(
        Ticket.objects.filter(ticket_search_q(query))
        .select_related("contact")
        .annotate(rank=rank)
        .order_by("rank", "-created_at", "-id")[:limit]
    )


def ticket_detail_get(*, pk: int) -> Ticket:
    """A ticket with its thread, audit trail and tags loaded (a fixed number of queries)."""
    return (
        Ticket.objects.select_related(
            "contact", "contact__company", "contact__loyalty", "company", "assignee", "team", "created_by"
        )
        .prefetch_related(
            "tags",
            Prefetch(
                "messages",
                queryset=TicketMessage.objects.select_related("author_user", "author_contact")
                .prefetch_related("mail_message__attachments")
                .order_by("created_at", "id"),
            ),
            Prefetch(
                "events", queryset=TicketEvent.objects.select_related("actor").order_by("-created_at", "-id")
            ),
        )
        .get(pk=pk)
    )


def ticket_list_for_contact(
    *, contact_id: int, exclude_id: int | None = None, limit: int = 20
) -> list[Ticket]:
    qs = Ticket.objects.filter(contact_id=contact_id).select_related("assignee")
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return list(qs.order_by("-created_at", "-id")[:limit])


def ticket_list_for_company(*, company_id: int, limit: int = 20) -> list[Ticket]:
    return list(
        Ticket.objects.filter(company_id=company_id)
        .select_related("assignee", "contact")
        .order_by("-created_at", "-id")[:limit]
    )


def ticket_open_count_for_contact(*, contact_id: int) -> int:
    return Ticket.objects.filter(UNSOLVED, contact_id=contact_id).count()


def agent_list():
    """Users who can work tickets (the assignee choices)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    User = get_user_model()
    perm = Permission.objects.filter(content_type__app_label="tickets", codename="change_ticket")
    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__permissions__in=perm) | Q(user_permissions__in=perm))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


# --- metrics ------------------------------------------------------------------------------------------

METRIC_GROUPS = {
    "team": ("team__name",),
    "agent": ("assignee__username", "assignee__first_name", "assignee__last_name"),
    "priority": ("priority",),
}


def _metric_label(group_by: str, row: dict) -> str:
    if group_by == "agent":
        name = f"{row.pop('assignee__first_name') or ''} {row.pop('assignee__last_name') or ''}".strip()
        return name or row.pop("assignee__username") or "Unassigned"
    if group_by == "team":
        return row.pop("team__name") or "No team"
    return Priority(row.pop("priority")).label


@dataclass(frozen=True)
class MetricRow:
    key: str
    tickets: int
    responded: int
    solved: int
    avg_first_response: timedelta | None
    avg_resolution: timedelta | None
    first_response_met: int
    first_response_breached: int
    resolution_met: int
    resolution_breached: int

    @staticmethod
    def _pct(met: int, breached: int) -> float | None:
        total = met + breached
        return round(100 * met / total, 1) if total else None

    @property
    def first_response_attainment(self) -> float | None:
        return self._pct(self.first_response_met, self.first_response_breached)

    @property
    def resolution_attainment(self) -> float | None:
        return self._pct(self.resolution_met, self.resolution_breached)


def ticket_metrics(*, start: datetime, end: datetime, group_by: str, now: datetime) -> list[MetricRow]:
    """First response time, resolution time and SLA attainment of the tickets created in [start, end),
    grouped by team, agent or priority. A target counts as met when it was reached in time, breached
    when reached late or overdue now; targets still running in time are not counted."""
    keys = METRIC_GROUPS[group_by]
    done = [s.value for s in DONE_STATUSES]
    first_met = Q(first_responded_at__isnull=False, first_responded_at__lte=F("first_response_due_at"))
    first_breached = Q(first_responded_at__gt=F("first_response_due_at")) | (
        Q(first_responded_at__isnull=True, first_response_due_at__lt=now) & ~Q(status__in=done)
    )
    resolution_met = Q(status__in=done, solved_at__lte=F("resolution_due_at"))
    resolution_breached = Q(status__in=done, solved_at__gt=F("resolution_due_at")) | (
        ~Q(status__in=done)
        & (Q(paused_at__isnull=True, resolution_due_at__lt=now) | Q(paused_at__gt=F("resolution_due_at")))
    )
    rows = (
        Ticket.objects.filter(created_at__gte=start, created_at__lt=end)
        .values(*keys)
        .annotate(
            tickets=Count("id"),
            responded=Count("id", filter=Q(first_responded_at__isnull=False)),
            solved=Count("id", filter=Q(status__in=done, solved_at__isnull=False)),
            avg_first_response=Avg(
                ExpressionWrapper(F("first_responded_at") - F("created_at"), output_field=DurationField())
            ),
            avg_resolution=Avg(
                ExpressionWrapper(F("solved_at") - F("created_at"), output_field=DurationField()),
                filter=Q(status__in=done),
            ),
            first_response_met=Count("id", filter=first_met),
            first_response_breached=Count("id", filter=first_breached),
            resolution_met=Count("id", filter=resolution_met),
            resolution_breached=Count("id", filter=resolution_breached),
        )
        .order_by(*keys)
    )
    if group_by == "priority":
        rows = sorted(rows, key=lambda row: -PRIORITY_RANK[row["priority"]])
    result = []
    for row in rows:
        label = _metric_label(group_by, row)
        result.append(
            MetricRow(
                key=label, **{k: v for k, v in row.items() if not k.startswith(("assignee__", "team__"))}
            )
        )
    return result
