"""Loyalty points from connector orders: Order Completed earns points per currency unit, refunds take them back.

An admin sets `loyalty_points_per_unit` in a connector source's settings (admin: Sources). Each event is
credited once (LoyaltyCredit, unique per event), so a replayed webhook or a second run gives nothing more.
"""

import math
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from contacts.models import LoyaltyAccount, LoyaltyNote
from contacts.services.loyalty import loyalty_points_add
from profiles.models import CONNECTOR_KINDS, Event, Source

from .models import LoyaltyCredit

ORDER_EVENTS = ("Order Completed", "Order Refunded")
LOOKBACK = timedelta(days=30)


def points_per_unit(source: Source) -> float:
    value = source.connector_config.get("loyalty_points_per_unit")
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return 0.0
    return float(value)


def _amount(event: Event) -> float:
    properties = event.properties or {}
    for key in ("revenue", "total") if event.name == "Order Completed" else ("total", "revenue"):
        value = properties.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
    return 0.0


def loyalty_credit_profiles(*, profile_ids: list[int]) -> int:
    """Credit the uncredited order events of these profiles' loyalty members; returns the events credited."""
    rates = {
        source.pk: points_per_unit(source)
        for source in Source.objects.filter(kind__in=CONNECTOR_KINDS).only("id", "connector_config")
    }
    rates = {pk: rate for pk, rate in rates.items() if rate}
    if not rates or not profile_ids:
        return 0
    events = list(
        Event.objects.filter(
            profile_id__in=profile_ids,
            source_id__in=list(rates),
            name__in=ORDER_EVENTS,
            type="track",
            received_at__gte=timezone.now() - LOOKBACK,
            profile__contact__loyalty__isnull=False,
        )
        .exclude(Exists(LoyaltyCredit.objects.filter(event_id=OuterRef("pk"))))
        .select_related("source", "profile__contact__loyalty")
        .order_by("timestamp", "id")
    )
    credited = 0
    for event in events:
        if (event.context or {}).get("test"):
            continue
        points = math.floor(_amount(event) * rates[event.source_id])
        account = event.profile.contact.loyalty
        credited += _credit(event=event, account=account, points=points)
    return credited


def _credit(*, event: Event, account: LoyaltyAccount, points: int) -> int:
    order = (event.properties or {}).get("order_id") or ""
    try:
        with transaction.atomic():
            if event.name == "Order Refunded":
                balance = LoyaltyAccount.objects.values_list("points_balance", flat=True).get(pk=account.pk)
                points = -min(points, balance)  # the balance never goes below zero
            LoyaltyCredit.objects.create(event=event, account=account, points=points)
            if points:
                loyalty_points_add(
                    account=account,
                    user=None,
                    delta=points,
                    kind=LoyaltyNote.Kind.EARNED if points > 0 else LoyaltyNote.Kind.ADJUSTED,
                    text=f"{event.name} {order} ({event.source.name})".strip(),
                )
    except IntegrityError:  # another worker credited this event first
        return 0
    return 1
