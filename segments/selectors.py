"""Reads of segments for pages, API and exports; each runs a fixed number of queries."""

import datetime
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from contacts.models import Contact
from profiles.models import ComputedTrait, Event, Identity, Profile

from .models import Delivery, Destination, Membership, Segment, SegmentSize
from .rules import rule_compile, rule_sentence, segment_refs

SPARK_DAYS = 30


def segment_names() -> dict[int, str]:
    return dict(Segment.objects.values_list("pk", "name"))


def segments_using(segment_ids: Iterable[int]) -> dict[int, list[Segment]]:
    """segment id -> the other segments whose rule refers to it ("in segment ..."), by name; one query."""
    wanted = set(segment_ids)
    using: dict[int, list[Segment]] = {pk: [] for pk in wanted}
    for other in Segment.objects.only("id", "name", "rule").order_by("name"):
        for ref in segment_refs(other.rule) & wanted - {other.pk}:
            using[ref].append(other)
    return using


def sentence_for(segment: Segment, names: dict[int, str] | None = None) -> str:
    names = names if names is not None else segment_names()
    try:
        return rule_sentence(rule=segment.rule, segment_name=lambda sid: names.get(sid, f"#{sid}"))
    except (KeyError, TypeError, ValueError, AttributeError):
        return "(rule cannot be read)"


def sparkline_points(sizes: list[int], *, width: int = 120, height: int = 28) -> str:
    """SVG polyline points for a series of daily sizes."""
    if not sizes:
        return ""
    if len(sizes) == 1:
        sizes = sizes * 2
    top = max(sizes) or 1
    step = width / (len(sizes) - 1)
    return " ".join(
        f"{i * step:.1f},{height - 2 - (size / top) * (height - 4):.1f}" for i, size in enumerate(sizes)
    )


def segment_list() -> list[Segment]:
    """Segments with `.sentence`, `.spark` (SVG points) and `.trend` (last 30 days of sizes): 2 queries."""
    since = timezone.localdate() - datetime.timedelta(days=SPARK_DAYS)
    segments = list(
        Segment.objects.select_related("created_by").prefetch_related(
            Prefetch(
                "sizes", queryset=SegmentSize.objects.filter(day__gt=since).order_by("day"), to_attr="recent"
            )
        )
    )
    names = {s.pk: s.name for s in segments}
    for segment in segments:
        segment.sentence = sentence_for(segment, names)
        segment.trend = [row.size for row in segment.recent]
        segment.spark = sparkline_points(segment.trend)
    return segments


def segment_size_series(*, segment: Segment, days: int = 90) -> list[dict]:
    since = timezone.localdate() - datetime.timedelta(days=days)
    return [
        {"day": row.day.isoformat(), "size": row.size}
        for row in SegmentSize.objects.filter(segment=segment, day__gt=since).order_by("day")
    ]


def segment_members(*, segment: Segment, search: str = "") -> QuerySet[Membership]:
    """Current members, newest first; `search` matches an identifier or the name/email trait. A profile
    merged away since the last evaluation is left out (its membership closes on the next re-check)."""
    members = Membership.objects.filter(
        segment=segment, exited_at__isnull=True, profile__merged_into__isnull=True
    ).select_related("profile", "profile__contact")
    search = search.strip()
    if search:
        members = members.filter(
            Exists(Identity.objects.filter(profile=OuterRef("profile"), value__icontains=search.lower()))
            | Q(profile__traits__email__icontains=search)
            | Q(profile__traits__name__icontains=search)
        )
    return members.order_by("-entered_at", "-id")


def identifiers_for(*, profile_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    found: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for pid, kind, value in (
        Identity.objects.filter(profile_id__in=profile_ids)
        .order_by("kind", "value")
        .values_list("profile_id", "kind", "value")
    ):
        found[pid][kind].append(value)
    return found


def destinations_with_deliveries(
    *, segment: Segment, limit: int = 50
) -> tuple[list[Destination], list[Delivery]]:
    destinations = list(Destination.objects.filter(segment=segment).order_by("name"))
    deliveries = list(
        Delivery.objects.filter(destination__segment=segment)
        .select_related("destination")
        .order_by("-created_at", "-id")[:limit]
    )
    return destinations, deliveries


def contact_segments(*, contact: Contact) -> list[Membership]:
    """Current memberships of the profiles linked to this contact (by email, see rules/crm.py)."""
    email = (contact.email or "").strip().lower()
    if not email:
        return []
    profiles = Identity.objects.filter(kind=Identity.Kind.EMAIL, value=email).values("profile_id")
    return list(
        Membership.objects.filter(profile_id__in=profiles, exited_at__isnull=True, segment__is_active=True)
        .select_related("segment")
        .order_by("segment__name")
    )


def profile_segments(*, profile: Profile) -> list[Membership]:
    return list(
        Membership.objects.filter(profile=profile, exited_at__isnull=True, segment__is_active=True)
        .select_related("segment")
        .order_by("segment__name")
    )


def rule_preview(*, rule: dict, sample_size: int = 10) -> dict:
    """Estimated size and a sample of matching profiles for a rule that is not saved yet (2 queries)."""
    matching = rule_compile(rule=rule, now=timezone.now())
    count = matching.count()
    sample = list(
        Profile.objects.filter(pk__in=matching.values("pk")).order_by("-last_seen", "-id")[:sample_size]
    )
    return {"count": count, "sample": sample}


def event_name_suggestions(*, limit: int = 200) -> list[str]:
    return list(
        Event.objects.exclude(name="").order_by("name").values_list("name", flat=True).distinct()[:limit]
    )


def property_suggestions(*, event: str, sample: int = 500) -> list[dict]:
    """Property names (with a guessed type) seen on recent events of this name."""
    seen: dict[str, str] = {}
    for properties in (
        Event.objects.filter(name=event).order_by("-timestamp").values_list("properties", flat=True)[:sample]
    ):
        for key, value in (properties or {}).items():
            seen.setdefault(key, _json_type(value))
    return [{"name": k, "type": t} for k, t in sorted(seen.items())]


def computed_trait_suggestions() -> list[dict]:
    """Computed traits a rule can use: the built-ins and those defined in the admin, with their value type."""
    numeric = {"count", "sum", "min", "max"}
    defined = [
        {"name": key, "type": "number" if aggregation in numeric else "text"}
        for key, aggregation in ComputedTrait.objects.order_by("key").values_list("key", "aggregation")
    ]
    built_ins = [
        {"name": "first_seen", "type": "date"},
        {"name": "last_seen", "type": "date"},
        {"name": "total_events", "type": "number"},
    ]
    return built_ins + defined


def trait_suggestions(*, sample: int = 500) -> list[dict]:
    seen: dict[str, str] = {}
    for traits in Profile.objects.order_by("-last_seen").values_list("traits", flat=True)[:sample]:
        for key, value in (traits or {}).items():
            seen.setdefault(key, _json_type(value))
    return [{"name": k, "type": t} for k, t in sorted(seen.items())]


def _json_type(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str) and len(value) >= 10 and value[:4].isdigit() and value[4] == "-":
        return "date"
    return "text"


def audience_key(segment_name: str) -> str:
    """A segment's name as an audience trait key, the way Segment names audiences ("big_spender")."""
    return slugify(segment_name).replace("-", "_")


def profile_audiences(profile_id: int) -> dict[str, bool]:
    """The profile's current audiences for the Profile API's traits (one query)."""
    names = Membership.objects.filter(
        profile_id=profile_id, exited_at__isnull=True, segment__is_active=True
    ).values_list("segment__name", flat=True)
    return {audience_key(name): True for name in names}
