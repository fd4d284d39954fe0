"""Reads every pipeline page uses: pipelines, stages, owners, months and the deal filter."""

import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from ..models import Deal, Pipeline, Stage

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def pipeline_list() -> list[Pipeline]:
    return list(Pipeline.objects.order_by("-is_default", "name"))


def pipeline_pick(*, pipelines: list[Pipeline], pipeline_id: str | int | None) -> Pipeline | None:
    """The pipeline asked for, else the default one, else the first."""
    by_id = {str(p.pk): p for p in pipelines}
    if pipeline_id and str(pipeline_id) in by_id:
        return by_id[str(pipeline_id)]
    return next((p for p in pipelines if p.is_default), pipelines[0] if pipelines else None)


def stage_list(*, pipeline: Pipeline) -> list[Stage]:
    return list(pipeline.stages.order_by("position", "id"))


def owner_choices() -> QuerySet:
    """Users who can own deals: those with the change_deal permission through a group, or superusers."""
    User = get_user_model()
    return (
        User.objects.filter(
            Q(is_superuser=True)
            | Q(
                groups__permissions__codename="change_deal",
                groups__permissions__content_type__app_label="pipeline",
            )
        )
        .filter(is_active=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def month_parse(value: str | None) -> datetime.date | None:
    """'2026-05' -> date(2026, 5, 1); anything else -> None."""
    try:
        return datetime.datetime.strptime(value or "", "%Y-%m").date()  # noqa: DTZ007 - a calendar month
    except ValueError:
        return None


def month_end(month: datetime.date) -> datetime.date:
    return month_add(month, 1) - datetime.timedelta(days=1)


def month_add(month: datetime.date, months: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def deal_queryset() -> QuerySet[Deal]:
    return Deal.objects.select_related("stage", "pipeline", "owner", "contact", "company")


def deal_filter(
    qs: QuerySet[Deal],
    *,
    pipeline: Pipeline | None = None,
    owner_id: str | int | None = None,
    close_month: datetime.date | None = None,
    query: str = "",
    stage_id: str | int | None = None,
    status: str = "",
) -> QuerySet[Deal]:
    if pipeline is not None:
        qs = qs.filter(pipeline=pipeline)
    if owner_id == "none":
        qs = qs.filter(owner__isnull=True)
    elif owner_id:
        qs = qs.filter(owner_id=owner_id)
    if close_month:
        qs = qs.filter(expected_close_date__gte=close_month, expected_close_date__lte=month_end(close_month))
    for term in (query or "").split():
        qs = qs.filter(
            Q(title__icontains=term)
            | Q(company__name__icontains=term)
            | Q(contact__first_name__icontains=term)
            | Q(contact__last_name__icontains=term)
            | Q(contact__email__icontains=term)
            | Q(next_step__icontains=term)
        )
    if stage_id:
        qs = qs.filter(stage_id=stage_id)
    if status in Stage.Kind.values:
        qs = qs.filter(stage__kind=status)
    return qs
