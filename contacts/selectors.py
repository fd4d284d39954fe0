"""Reads of the CRM core shared by pages, the API and other apps."""

from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from common.params import is_id

from . import search
from .models import Activity, Company, Contact, LoyaltyNote, RecentView, Tag, Task


def contact_search(*, query: str, limit: int = 20) -> list[Contact]:
    """The best matches for a search box, ranked exact > prefix > contains (contacts/search.py)."""
    return search.contact_search(query=query, limit=limit)


def company_search(*, query: str, limit: int = 20) -> list[Company]:
    return search.company_search(query=query, limit=limit)


def task_list_due_for(*, user, limit: int = 10) -> QuerySet[Task]:
    """Open tasks assigned to the user, overdue and soonest first (undated last)."""
    return (
        Task.objects.filter(assignee=user, done_at__isnull=True)
        .select_related("contact", "company")
        .order_by("due_at", "id")[:limit]
    )


def contact_list_recent_for(*, user, limit: int = 10) -> list[Contact]:
    views = (
        RecentView.objects.filter(user=user)
        .select_related("contact", "contact__company")
        .order_by("-viewed_at")[:limit]
    )
    return [view.contact for view in views]


# --- lists and detail pages -------------------------------------------------------------------------

CONTACT_SORTS = {
    "name": ("last_name", "first_name", "id"),
    "-name": ("-last_name", "-first_name", "-id"),
    "email": ("email", "id"),
    "-email": ("-email", "-id"),
    "company": ("company__name", "last_name", "id"),
    "-company": ("-company__name", "last_name", "id"),
    "owner": ("owner__username", "last_name", "id"),
    "-owner": ("-owner__username", "last_name", "id"),
    "lifecycle": ("lifecycle_rank", "last_name", "id"),
    "-lifecycle": ("-lifecycle_rank", "last_name", "id"),
    "updated": ("updated_at", "id"),
    "-updated": ("-updated_at", "-id"),
    "last_activity": ("last_activity_at", "id"),
    "-last_activity": (F("last_activity_at").desc(nulls_last=True), "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "job_title": ("job_title", "last_name", "id"),
    "-job_title": ("-job_title", "last_name", "id"),
}
COMPANY_SORTS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "industry": ("industry", "name", "id"),
    "-industry": ("-industry", "name", "id"),
    "contacts": ("contact_count", "name", "id"),
    "-contacts": ("-contact_count", "name", "id"),
    "owner": ("owner__username", "name", "id"),
    "-owner": ("-owner__username", "name", "id"),
    "updated": ("updated_at", "id"),
    "-updated": ("-updated_at", "-id"),
    "domain": ("domain", "name", "id"),
    "-domain": ("-domain", "name", "id"),
}


def _lifecycle_rank() -> Case:
    return Case(
        *[
            When(lifecycle_stage=value, then=Value(rank))
            for rank, value in enumerate(Contact.Lifecycle.values)
        ],
        output_field=IntegerField(),
    )


def contact_list(
    *,
    q: str = "",
    owner: str | int | None = None,
    lifecycle: str = "",
    tag: str = "",
    company: str | int | None = None,
    sort: str = "name",
    user=None,
) -> QuerySet[Contact]:
    """Contacts filtered as on the list page; the page renders them with a fixed number of queries.

    `owner` is a user id, "me" (needs `user`) or "none"; `tag` a tag name; `company` a company id.
    """
    last_activity = (
        Activity.objects.filter(contact=OuterRef("pk")).order_by("-occurred_at").values("occurred_at")[:1]
    )
    qs = (
        Contact.objects.select_related("company", "owner")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .annotate(last_activity_at=Subquery(last_activity), lifecycle_rank=_lifecycle_rank())
    )
    qs = search.contact_search_filter(qs, q or "")
    if owner == "me" and user is not None:
        qs = qs.filter(owner=user)
    elif owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif owner not in (None, "") and is_id(owner):
        qs = qs.filter(owner_id=int(owner))
    if lifecycle in Contact.Lifecycle.values:
        qs = qs.filter(lifecycle_stage=lifecycle)
    if tag:
        qs = qs.filter(Exists(Contact.tags.through.objects.filter(contact_id=OuterRef("pk"), tag__name=tag)))
    if company not in (None, "") and is_id(company):
        qs = qs.filter(company_id=int(company))
    return qs.order_by(*CONTACT_SORTS.get(sort, CONTACT_SORTS["name"]))


def contact_get_for_detail(*, contact_id: int) -> Contact:
    """The contact with everything the header needs (company, owner, tags, loyalty account)."""
    return (
        Contact.objects.select_related("company", "owner", "loyalty")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .get(pk=contact_id)
    )


FEED_PAGE = 30


def _activity_page(qs, *, limit: int, before: tuple | None) -> tuple[list[Activity], tuple | None]:
    """One page of a feed, newest first, keyset-paginated on (occurred_at, id).

    Returns the rows and the cursor of the next (older) page, or None on the last page.
    """
    if before is not None:
        occurred_at, pk = before
        qs = qs.filter(Q(occurred_at__lt=occurred_at) | Q(occurred_at=occurred_at, id__lt=pk))
    rows = list(qs.order_by("-occurred_at", "-id")[: limit + 1])
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, (rows[-1].occurred_at, rows[-1].pk)
    return rows, None


def activity_page_for_contact(
    *, contact_id: int, limit: int = FEED_PAGE, before: tuple | None = None
) -> tuple[list[Activity], tuple | None]:
    qs = Activity.objects.filter(contact_id=contact_id).select_related("author")
    return _activity_page(qs, limit=limit, before=before)


def activity_page_for_company(
    *, company_id: int, limit: int = FEED_PAGE, before: tuple | None = None
) -> tuple[list[Activity], tuple | None]:
    """Activities on the company itself and on its contacts."""
    qs = Activity.objects.filter(Q(company_id=company_id) | Q(contact__company_id=company_id)).select_related(
        "author", "contact"
    )
    return _activity_page(qs, limit=limit, before=before)


def task_list_for_contact(*, contact_id: int, limit: int = 50) -> list[Task]:
    return list(
        Task.objects.filter(contact_id=contact_id)
        .select_related("assignee")
        .order_by(F("done_at").desc(nulls_first=True), F("due_at").asc(nulls_last=True), "id")[:limit]
    )


def task_list_for_company(*, company_id: int, limit: int = 50) -> list[Task]:
    return list(
        Task.objects.filter(company_id=company_id)
        .select_related("assignee", "contact")
        .order_by(F("done_at").desc(nulls_first=True), F("due_at").asc(nulls_last=True), "id")[:limit]
    )


def loyalty_totals(*, account_id: int) -> dict[str, int]:
    """Lifetime points earned, redeemed and adjusted (signed as in the ledger), in one query."""
    kinds = LoyaltyNote.Kind
    totals = LoyaltyNote.objects.filter(account_id=account_id).aggregate(
        earned=Sum("points_delta", filter=Q(kind=kinds.EARNED)),
        redeemed=Sum("points_delta", filter=Q(kind=kinds.REDEEMED)),
        adjusted=Sum("points_delta", filter=Q(kind=kinds.ADJUSTED)),
    )
    return {key: value or 0 for key, value in totals.items()}


def loyalty_ledger(*, account_id: int, limit: int = 20) -> list[LoyaltyNote]:
    return list(
        LoyaltyNote.objects.filter(account_id=account_id)
        .select_related("author")
        .order_by("-created_at", "-id")[:limit]
    )


def company_list(
    *,
    q: str = "",
    owner: str | int | None = None,
    industry: str = "",
    tag: str = "",
    sort: str = "name",
    user=None,
):
    """Companies filtered as on the list page, with their contact count and tags (fixed queries)."""
    contact_count = (
        Contact.objects.filter(company=OuterRef("pk"))
        .order_by()
        .values("company")
        .annotate(n=Count("id"))
        .values("n")
    )
    qs = (
        Company.objects.select_related("owner")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .annotate(contact_count=Coalesce(Subquery(contact_count), 0))
    )
    qs = search.company_search_filter(qs, q or "", fields=("name", "domain", "industry"))
    if owner == "me" and user is not None:
        qs = qs.filter(owner=user)
    elif owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif owner not in (None, "") and is_id(owner):
        qs = qs.filter(owner_id=int(owner))
    if industry:
        qs = qs.filter(industry=industry)
    if tag:
        qs = qs.filter(Exists(Company.tags.through.objects.filter(company_id=OuterRef("pk"), tag__name=tag)))
    return qs.order_by(*COMPANY_SORTS.get(sort, COMPANY_SORTS["name"]))


def company_industries() -> list[str]:
    return list(
        Company.objects.exclude(industry="")
        .order_by("industry")
        .values_list("industry", flat=True)
        .distinct()
    )


def company_get_for_detail(*, company_id: int) -> Company:
    return (
        Company.objects.select_related("owner")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .annotate(contact_count=Count("contacts"))
        .get(pk=company_id)
    )


def contact_list_for_company(*, company_id: int, limit: int = 100) -> list[Contact]:
    return list(
        Contact.objects.filter(company_id=company_id)
        .select_related("owner")
        .order_by("last_name", "first_name", "id")[:limit]
    )


def task_list_for(*, user, status: str = "open") -> QuerySet[Task]:
    """The user's tasks for "my tasks": open (overdue and soonest first), done (latest first) or all."""
    qs = Task.objects.filter(assignee=user).select_related("contact", "company")
    if status == "done":
        return qs.filter(done_at__isnull=False).order_by("-done_at", "-id")
    if status == "all":
        return qs.order_by(F("done_at").desc(nulls_first=True), F("due_at").asc(nulls_last=True), "id")
    return qs.filter(done_at__isnull=True).order_by(F("due_at").asc(nulls_last=True), "id")


def owner_choices() -> QuerySet:
    """Users who can own CRM records (staff of any role, active)."""
    User = get_user_model()
    return User.objects.filter(is_active=True, groups__isnull=False).distinct().order_by("username")


def lifecycle_report() -> dict:
    """Contacts per owner and lifecycle stage: {"stages": [...], "rows": [...], "totals": {...}}."""
    counts = Contact.objects.values("owner_id", "lifecycle_stage").annotate(n=Count("id")).order_by()
    User = get_user_model()
    owner_ids = {row["owner_id"] for row in counts if row["owner_id"] is not None}
    owners = {u.pk: u for u in User.objects.filter(pk__in=owner_ids)}
    stages = list(Contact.Lifecycle.choices)
    matrix: dict = {}
    for row in counts:
        matrix.setdefault(row["owner_id"], {})[row["lifecycle_stage"]] = row["n"]
    totals = {value: sum(m.get(value, 0) for m in matrix.values()) for value, _ in stages}
    grand_total = sum(totals.values())
    peak = max([n for m in matrix.values() for n in m.values()] or [1])
    rows = []
    for owner_id, per_stage in matrix.items():
        owner = owners.get(owner_id)
        cells = [
            {
                "stage": value,
                "count": per_stage.get(value, 0),
                "pct": round(100 * per_stage.get(value, 0) / peak),
            }
            for value, _ in stages
        ]
        rows.append(
            {
                "owner": owner,
                "label": (owner.get_full_name() or owner.username) if owner else "Unassigned",
                "cells": cells,
                "total": sum(per_stage.values()),
            }
        )
    rows.sort(key=lambda r: (r["owner"] is None, r["label"].lower()))
    total_peak = max(list(totals.values()) or [1]) or 1
    total_cells = [
        {
            "stage": value,
            "label": label,
            "count": totals[value],
            "pct": round(100 * totals[value] / total_peak),
        }
        for value, label in stages
    ]
    return {"stages": stages, "rows": rows, "totals": total_cells, "grand_total": grand_total}
