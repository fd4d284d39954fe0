"""Computed traits: the built-ins and the admin's definitions, each evaluated by one definition per aggregation.

Values are stored in Profile.computed_traits (key -> value). A batch folds its events into the stored
values where the aggregation allows it (unwindowed count, sum, min, max) and aggregates the rest from the
stored events in one query; the hourly full recompute keeps every value exact whatever happens between.
"""

import datetime
import functools
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.db.models import Count, FloatField, Max, Min, OuterRef, Subquery, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from ..ingest import store
from ..ingest.normalize import NormalizedEvent
from ..models import ComputedTrait, Event, Profile

BUILT_INS = ("first_seen", "last_seen", "total_events", "channels_seen")


def seen_text(value: datetime.datetime | None) -> str | None:
    """How first/last seen are stored among the computed traits: ISO 8601 in UTC, whatever offset the
    client sent, so every path (fold, SQL fold, full recompute) writes the same text."""
    return value.astimezone(UTC).isoformat() if value else None


NUMERIC = r"^\s*-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\s*$"
NUMERIC_RE = re.compile(NUMERIC)
Agg = ComputedTrait.Aggregation


def _count(events):
    return events.order_by().values("profile").annotate(v=Count("id")).values("v")[:1]


def _numeric(function):
    def history(events):
        return (
            events.filter(trait_value__regex=NUMERIC)  # "n/a" or true must not abort the aggregate
            .order_by()
            .values("profile")
            .annotate(v=function(Cast("trait_value", FloatField())))
            .values("v")[:1]
        )

    return history


def _most_frequent(events):
    return (
        events.order_by()
        .values("trait_value")
        .annotate(n=Count("id"), latest=Max("timestamp"))
        .order_by("-n", "-latest")
        .values("trait_value")[:1]
    )


@dataclass(frozen=True)
class Evaluation:
    """How one aggregation is evaluated, everywhere it is: over the stored events (`history`, a queryset
    of the matching events -> a one-value subquery; events carry `trait_value` unless `counts`), and, for
    the aggregations new events alone can update, how a batch's value combines with the stored one, in
    Python (`combine`) and in SQL (`combine_sql`, over `{s}` stored and `{d}` batch, cast to `sql_type`)."""

    history: Callable
    counts: bool = False  # counts events; otherwise aggregates the numbers of the property
    combine: Callable | None = None
    combine_sql: str = ""
    sql_type: str = "float8"


EVALUATIONS: dict[str, Evaluation] = {
    Agg.COUNT: Evaluation(
        _count, counts=True, combine=operator.add, combine_sql="{s} + {d}", sql_type="numeric"
    ),
    Agg.SUM: Evaluation(_numeric(Sum), combine=operator.add, combine_sql="{s} + {d}"),
    Agg.MIN: Evaluation(_numeric(Min), combine=min, combine_sql="LEAST({s}, {d})"),
    Agg.MAX: Evaluation(_numeric(Max), combine=max, combine_sql="GREATEST({s}, {d})"),
    Agg.FIRST: Evaluation(lambda events: events.order_by("timestamp", "id").values("trait_value")[:1]),
    Agg.LAST: Evaluation(lambda events: events.order_by("-timestamp", "-id").values("trait_value")[:1]),
    Agg.MOST_FREQUENT: Evaluation(_most_frequent),
}


def _definition_subquery(definition: ComputedTrait, now: datetime.datetime):
    evaluation = EVALUATIONS[definition.aggregation]
    events = Event.objects.filter(profile=OuterRef("pk"))
    if definition.event_name:
        events = events.filter(name=definition.event_name)
    if definition.window_days:
        events = events.filter(timestamp__gte=now - timedelta(days=definition.window_days))
    if not evaluation.counts:
        value = KeyTextTransform(definition.property, "properties")
        events = events.annotate(trait_value=value).exclude(trait_value__isnull=True)
    return Subquery(evaluation.history(events))


def _definition_value(definition: ComputedTrait, value):
    if EVALUATIONS[definition.aggregation].counts:
        return value or 0
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def computed_values(
    *,
    profile_ids: Iterable[int],
    now: datetime.datetime | None = None,
    definitions: list[ComputedTrait] | None = None,
    built_ins: bool = True,
) -> dict[int, dict]:
    """profile id -> {computed trait key: value} for these profiles: two queries whatever their number.

    By default every enabled definition and the built-ins; `definitions` / `built_ins=False` narrow it.
    """
    ids = sorted(set(profile_ids))
    if not ids:
        return {}
    now = now or timezone.now()
    if definitions is None:
        definitions = list(ComputedTrait.objects.filter(enabled=True).order_by("key"))
    annotations = {f"ct_{i}": _definition_subquery(d, now) for i, d in enumerate(definitions)}
    if built_ins:
        annotations["ct_total"] = Subquery(
            Event.objects.filter(profile=OuterRef("pk"))
            .order_by()
            .values("profile")
            .annotate(v=Count("id"))
            .values("v")[:1]
        )
    rows = (
        Profile.objects.filter(pk__in=ids)
        .annotate(**annotations)
        .values("pk", "first_seen", "last_seen", *annotations)
    )
    channels: dict[int, list[str]] = {}
    if built_ins:
        for profile_id, name in (
            Event.objects.filter(profile_id__in=ids)
            .order_by()
            .values_list("profile_id", "source__name")
            .distinct()
        ):
            channels.setdefault(profile_id, []).append(name)
    values: dict[int, dict] = {}
    for row in rows:
        result = {}
        if built_ins:
            result = {
                "first_seen": seen_text(row["first_seen"]),
                "last_seen": seen_text(row["last_seen"]),
                "total_events": row["ct_total"] or 0,
                "channels_seen": sorted(channels.get(row["pk"], [])),
            }
        for i, definition in enumerate(definitions):
            result[definition.key] = _definition_value(definition, row[f"ct_{i}"])
        values[row["pk"]] = result
    return values


def foldable(definition: ComputedTrait) -> bool:
    """Whether new events alone update the stored value (no window to slide, no ordering or tally kept)."""
    return not definition.window_days and EVALUATIONS[definition.aggregation].combine is not None


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and NUMERIC_RE.match(value):
        return float(value)
    return None


def fold(definition: ComputedTrait, stored, events: list[NormalizedEvent]):
    """A foldable definition's value after these new events, from its stored value (None: none yet)."""
    evaluation = EVALUATIONS[definition.aggregation]
    matching = [e for e in events if not definition.event_name or e.name == definition.event_name]
    if evaluation.counts:
        batch = len(matching)
    else:
        numbers = [n for e in matching if (n := _number(e.properties.get(definition.property))) is not None]
        if not numbers:
            return stored
        batch = functools.reduce(evaluation.combine, numbers)
    if stored is None:
        return _definition_value(definition, batch)
    return _definition_value(
        definition, evaluation.combine(stored if evaluation.counts else float(stored), batch)
    )


def computed_fold(
    *,
    profiles: list[Profile],
    events: list[NormalizedEvent],
    profile_of: dict[str, int],
    source_name: str,
    recompute: set[int],
    created: set[int],
) -> None:
    """Set `computed_traits` on a batch's live profiles without re-reading their whole history.

    Built-ins and unwindowed count/sum/min/max fold the batch's events into the stored values; windowed,
    first/last and most-frequent definitions (which need the history) are aggregated in one query, as is
    every trait of the profiles in `recompute` and of those whose stored values predate a definition.
    The hourly full recompute keeps everything exact whatever happens in between.
    """
    if not profiles:
        return
    definitions = list(ComputedTrait.objects.filter(enabled=True).order_by("key"))
    keys = set(BUILT_INS) | {d.key for d in definitions}
    full = {
        p.pk
        for p in profiles
        if p.pk in recompute or (p.pk not in created and not keys <= p.computed_traits.keys())
    }
    by_profile: dict[int, list[NormalizedEvent]] = {}
    for event in events:
        by_profile.setdefault(profile_of.get(event.message_id, 0), []).append(event)
    aggregated = computed_values(profile_ids=full, definitions=definitions) if full else {}
    history = [d for d in definitions if not foldable(d)]
    folded = [p.pk for p in profiles if p.pk not in full]
    partial = (
        computed_values(profile_ids=folded, definitions=history, built_ins=False)
        if history and folded
        else {}
    )
    for profile in profiles:
        stored = {} if profile.pk in created else profile.computed_traits
        values = dict(aggregated.get(profile.pk) or stored)
        new = by_profile.get(profile.pk, [])
        if profile.pk not in full:
            values["total_events"] = (stored.get("total_events") or 0) + len(new)
            channels = set(stored.get("channels_seen") or [])
            if new and source_name:
                channels.add(source_name)
            values["channels_seen"] = sorted(channels)
            for definition in definitions:
                if foldable(definition):
                    values[definition.key] = fold(definition, stored.get(definition.key), new)
            values.update(partial.get(profile.pk, {}))
        # Seen times come from the profile as this batch leaves it (the stored row is written after this).
        values["first_seen"] = seen_text(profile.first_seen)
        values["last_seen"] = seen_text(profile.last_seen)
        profile.computed_traits = values


def computed_refresh(*, profile_ids: Iterable[int]) -> int:
    """Recompute and store the computed traits of these profiles; returns how many were written."""
    values = computed_values(profile_ids=profile_ids)
    if not values:
        return 0
    store.bulk_update([Profile(pk=pk, computed_traits=v) for pk, v in values.items()], ["computed_traits"])
    return len(values)


def computed_recompute_all(*, chunk: int = 500) -> int:
    """Full recompute over every live profile (the management command, the admin action and the hourly beat)."""
    ids = list(Profile.objects.filter(merged_into__isnull=True).order_by("pk").values_list("pk", flat=True))
    done = 0
    for start in range(0, len(ids), chunk):
        done += computed_refresh(profile_ids=ids[start : start + chunk])
    return done


def combine_sql(definition: ComputedTrait, key: str) -> str:
    """SQL folding the batch's own value of a foldable trait (v.d) into the stored one (p.computed_traits).

    `key` names the bound parameter holding the trait key. The same rule as `fold`: a side without a
    value keeps the other one; numbers come out as _definition_value gives them (integral floats as
    integers, which is what to_jsonb writes for them).
    """
    evaluation = EVALUATIONS[definition.aggregation]
    stored, new = f"p.computed_traits -> %({key})s", f"v.d -> %({key})s"
    s, d = f"(p.computed_traits ->> %({key})s)", f"(v.d ->> %({key})s)"  # SQL NULL for a JSON null too
    both = evaluation.combine_sql.format(s=f"{s}::{evaluation.sql_type}", d=f"{d}::{evaluation.sql_type}")
    return f"CASE WHEN {d} IS NULL THEN {stored} WHEN {s} IS NULL THEN {new} ELSE to_jsonb({both}) END"
