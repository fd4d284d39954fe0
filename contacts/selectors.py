"""Reads of the CRM core shared by pages, the API and other apps."""

from django.db.models import Q, QuerySet

from .models import Company, Contact, RecentView, Task


def contact_search(*, query: str, limit: int = 20) -> QuerySet[Contact]:
    terms = query.split()
    qs = Contact.objects.select_related("company")
    for term in terms:
        qs = qs.filter(
            Q(first_name__icontains=term)
            | Q(last_name__icontains=term)
            | Q(email__icontains=term)
            | Q(company__name__icontains=term)
        )
    return qs.order_by("last_name", "first_name", "id")[:limit]


def company_search(*, query: str, limit: int = 20) -> QuerySet[Company]:
    return Company.objects.filter(Q(name__icontains=query) | Q(domain__icontains=query)).order_by("name")[:limit]


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
