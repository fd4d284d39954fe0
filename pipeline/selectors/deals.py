"""Reads of the deals list, the deal page, the contact and company panels and search."""

from django.db.models import QuerySet

from contacts.models import Activity, Task

from ..models import Deal, DealStageChange
from .common import deal_filter, deal_queryset

LIST_SORTS = {
    "title": ("title", "id"),
    "amount": ("amount", "id"),
    "close": ("expected_close_date", "id"),
    "stage": ("stage__position", "id"),
    "owner": ("owner__first_name", "owner__username", "id"),
    "company": ("company__name", "id"),
    "updated": ("updated_at", "id"),
}


def deal_list(*, sort: str = "close", **filters) -> QuerySet[Deal]:
    key = sort.lstrip("-")
    order = LIST_SORTS.get(key, LIST_SORTS["close"])
    if sort.startswith("-"):
        order = tuple(f"-{name}" for name in order)
    return deal_filter(deal_queryset(), **filters).order_by(*order)


def deal_detail(*, pk: int) -> Deal:
    return deal_queryset().get(pk=pk)


def deal_stage_history(*, deal: Deal) -> QuerySet[DealStageChange]:
    return deal.stage_changes.select_related("changed_by").order_by("-changed_at", "-id")


def deal_activities(*, deal: Deal, limit: int = 50) -> QuerySet[Activity]:
    return (
        Activity.objects.filter(deal_id=deal.pk)
        .select_related("author")
        .order_by("-occurred_at", "-id")[:limit]
    )


def deal_tasks(*, deal: Deal) -> QuerySet[Task]:
    return Task.objects.filter(deal_id=deal.pk).select_related("assignee").order_by("done_at", "due_at", "id")


def deal_list_for_contact(*, contact_id: int) -> QuerySet[Deal]:
    return deal_queryset().filter(contact_id=contact_id).order_by("stage__kind", "expected_close_date", "id")


def deal_list_for_company(*, company_id: int) -> QuerySet[Deal]:
    return deal_queryset().filter(company_id=company_id).order_by("stage__kind", "expected_close_date", "id")


def deal_search(*, query: str, limit: int = 20) -> QuerySet[Deal]:
    return deal_filter(deal_queryset(), query=query).order_by("-updated_at", "-id")[:limit]
