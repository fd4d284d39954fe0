"""Reads of the deals list, the deal page, the contact and company panels and search."""

from django.db.models import Case, IntegerField, QuerySet, Value, When

from contacts.models import Activity, Company, Contact, Task
from contacts.search import any_of, contact_term_q, terms, text_q

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


def deal_search(*, query: str, limit: int = 20) -> list[Deal]:
    """The best matches for a search box: title, or the company's or contact's name (each term), ranked
    exact title > title prefix > the rest, then the latest updated. Indexed on PostgreSQL (trigrams)."""
    qs = deal_queryset()
    query = (query or "").strip()
    if not query:
        return list(qs.order_by("-updated_at", "-id")[:limit])
    for term in terms(query):
        companies = Company.objects.filter(text_q(term, ("name",))).values("pk")
        contacts = Contact.objects.filter(contact_term_q(term)).values("pk")
        qs = qs.filter(
            any_of(
                Deal,
                Deal.objects.filter(text_q(term, ("title",))),
                Deal.objects.filter(company__in=companies),
                Deal.objects.filter(contact__in=contacts),
            )
        )
    rank = Case(
        When(title__iexact=query, then=Value(0)),
        When(title__istartswith=query, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return list(qs.annotate(rank=rank).order_by("rank", "-updated_at", "-id")[:limit])
