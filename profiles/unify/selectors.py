"""Reads of unified profiles: search, the CDP summary of a profile, its merge ledger, its channels."""

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from ..models import ComputedTrait, Event, Identity, Profile, ProfileMerge, Source

KEY_TRAITS = ("email", "name", "first_name", "last_name", "phone", "plan", "city", "loyalty_tier")


def profile_for_contact(*, contact_id: int) -> Profile | None:
    return (
        Profile.objects.filter(contact_id=contact_id, merged_into__isnull=True)
        .select_related("company")
        .first()
    )


def profile_search(*, query: str = "", status: str = "") -> QuerySet[Profile]:
    """Live profiles, newest activity first; `query` matches an identifier value or the e-mail/name trait."""
    profiles = Profile.objects.filter(merged_into__isnull=True).select_related("contact")
    if query:
        lowered = query.lower()
        profiles = profiles.filter(
            Q(Exists(Identity.objects.filter(profile=OuterRef("pk"), value__in=[query, lowered])))
            | Q(traits__email__icontains=query)
            | Q(traits__name__icontains=query)
        )
    if status == "known":
        profiles = profiles.filter(contact__isnull=False)
    elif status == "unknown":
        profiles = profiles.filter(contact__isnull=True)
    return profiles.order_by("-last_seen", "-id")


def channels_for(*, profile: Profile | None, with_crm: bool) -> list[tuple[str, str]]:
    channels = []
    if profile is not None:
        source_ids = Event.objects.filter(profile=profile).order_by().values("source_id").distinct()
        channels = [
            (str(pk), name) for pk, name in Source.objects.filter(pk__in=source_ids).values_list("pk", "name")
        ]
    if with_crm:
        channels.append(("crm", "CRM"))
    return channels


def cdp_summary(*, profile: Profile | None) -> dict:
    """What the CDP panel shows: identities, key traits, computed traits (built-ins first)."""
    if profile is None:
        return {"profile": None}
    identities = list(profile.identities.order_by("kind", "value").values_list("kind", "value"))
    key_traits = [(k, profile.traits[k]) for k in KEY_TRAITS if k in profile.traits]
    other_traits = sorted((k, v) for k, v in profile.traits.items() if k not in KEY_TRAITS)
    labels = dict(ComputedTrait.objects.filter(enabled=True).values_list("key", "label"))
    computed = profile.computed_traits or {}
    custom = [(labels[k], computed.get(k)) for k in sorted(labels)]
    days_since = (timezone.now() - profile.last_seen).days if profile.last_seen else None
    return {
        "profile": profile,
        "days_since_last_seen": days_since,
        "identities": identities,
        "key_traits": key_traits,
        "other_traits": other_traits,
        "computed": custom,
        "channels_seen": computed.get("channels_seen", []),
        "total_events": computed.get("total_events", 0),
    }


def ledger_for(*, profile: Profile) -> QuerySet[ProfileMerge]:
    return (
        ProfileMerge.objects.filter(Q(survivor=profile) | Q(merged=profile))
        .select_related("source", "created_by", "undone_by")
        .order_by("-created_at", "-id")[:100]
    )


def company_cdp_summary(*, company_id: int) -> dict:
    """The CDP side of a company: its group calls' traits and how many profiles belong to it (two queries)."""
    from ..models import Group

    groups = list(Group.objects.filter(company_id=company_id).order_by("group_id"))
    profiles = Profile.objects.filter(company_id=company_id, merged_into__isnull=True).count()
    return {"groups": groups, "profile_count": profiles}


ORDER_EVENTS = ("Order Completed",)


def customer_context(*, profile: Profile | None, orders: int = 3) -> dict:
    """What a support agent wants next to a ticket: last seen and the latest orders (one query)."""
    if profile is None:
        return {"profile": None}
    from .timeline import event_highlights

    latest = list(
        Event.objects.filter(profile=profile, name__in=ORDER_EVENTS)
        .only("timestamp", "name", "properties", "context")
        .order_by("-timestamp", "-id")[:orders]
    )
    for event in latest:
        event.highlights = event_highlights(event.properties, event.context)
        order_id = event.properties.get("order_id") if isinstance(event.properties, dict) else None
        event.order_id = (
            order_id if isinstance(order_id, str | int) and not isinstance(order_id, bool) else ""
        )
    return {"profile": profile, "orders": latest}
