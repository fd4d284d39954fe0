"""Profile traits of a batch: latest-wins by event time, merges folded into survivors, seen times, computed traits.

Traits carry the time of the event that set them (Profile.trait_times), so a late-arriving old identify
never overwrites a newer value. A batch's locked profiles are written in one statement (profiles_apply);
profiles resolved without a lock are folded in SQL in a short transaction of their own (profiles_touch).
"""

import datetime
from collections.abc import Iterable
from datetime import UTC

from django.db.models import Case, Max, Min, Value, When
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.models import Company

from ..ingest import store
from ..ingest.normalize import NormalizedEvent, email_of
from ..models import ComputedTrait, Event, Group, Profile
from .computed import (
    BUILT_INS,
    combine_sql,
    computed_fold,
    computed_refresh,
    computed_values,
    fold,
    foldable,
    seen_text,
)
from .contact import contacts_link
from .resolution import Resolution


def time_key(value: datetime.datetime) -> str:
    """A sortable UTC string for an event time."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def traits_merge(*, traits: dict, times: dict, new: dict, new_times: dict | str) -> bool:
    """Fold `new` into `traits` where it is newer (by event time); returns whether anything changed."""
    changed = False
    for key, value in new.items():
        at = new_times if isinstance(new_times, str) else new_times.get(key, "")
        if at >= times.get(key, "") and (traits.get(key) != value or key not in times):
            traits[key] = value
            times[key] = at
            changed = True
    return changed


def _company_domain(traits: dict, group_id: str) -> str:
    for candidate in (traits.get("domain"), traits.get("website"), group_id):
        if isinstance(candidate, str) and "." in candidate:
            host = candidate.strip().lower().removeprefix("https://").removeprefix("http://")
            return host.removeprefix("www.").split("/")[0]
    return ""


def groups_apply(group_events: list[NormalizedEvent]) -> dict[str, Group]:
    """Upsert the Group rows of a batch's group calls and match them to companies; four queries."""
    if not group_events:
        return {}
    ids = sorted({event.group_id for event in group_events})
    groups = {group.group_id: group for group in Group.objects.select_for_update().filter(group_id__in=ids)}
    new = {gid: Group(group_id=gid) for gid in ids if gid not in groups}
    for event in sorted(group_events, key=lambda e: e.timestamp):
        group = groups.get(event.group_id) or new[event.group_id]
        traits_merge(
            traits=group.traits,
            times=group.trait_times,
            new=event.traits,
            new_times=time_key(event.timestamp),
        )
    all_groups = {**groups, **new}
    domains = {gid: _company_domain(g.traits, gid) for gid, g in all_groups.items() if g.company_id is None}
    wanted = {d for d in domains.values() if d}
    if wanted:
        companies = dict(
            Company.objects.annotate(domain_lower=Lower("domain"))
            .filter(domain_lower__in=sorted(wanted))
            .values_list("domain_lower", "pk")
        )
        for gid, domain in domains.items():
            if domain in companies:
                all_groups[gid].company_id = companies[domain]
    if new:
        Group.objects.bulk_create(list(new.values()))
    if groups:
        Group.objects.bulk_update(list(groups.values()), ["traits", "trait_times", "company"])
    return all_groups


def _profiles_held(resolution: Resolution) -> dict[int, Profile]:
    """The batch's live targets and merged-away profiles, locked: those the resolution holds, the rest read."""
    targets = (set(resolution.profile_ids.values()) | set(resolution.merged.values())) - resolution.unlocked
    if not targets:
        return {}
    ids = sorted(targets | set(resolution.merged))
    profiles = {pk: resolution.profiles[pk] for pk in ids if pk in resolution.profiles}
    missing = [pk for pk in ids if pk not in profiles]
    if missing:
        profiles.update(
            (p.pk, p) for p in Profile.objects.select_for_update().filter(pk__in=missing).order_by("pk")
        )
    return profiles


def _merges_fold(profiles: dict[int, Profile], merged: dict[int, int]) -> set[int]:
    """Merged-away profiles fold into their survivor, newest trait value winning by event time; the contact
    link moves to a survivor without one. Returns the survivors changed."""
    dirty: set[int] = set()
    contact_moves: list[int] = []
    for old_id in sorted(merged, reverse=True):
        old, survivor = profiles.get(old_id), profiles.get(merged[old_id])
        if old is None or survivor is None:
            continue
        traits_merge(
            traits=survivor.traits, times=survivor.trait_times, new=old.traits, new_times=old.trait_times
        )
        dirty.add(survivor.pk)
        survivor.first_seen = min(filter(None, (survivor.first_seen, old.first_seen)), default=None)
        survivor.last_seen = max(filter(None, (survivor.last_seen, old.last_seen)), default=None)
        if old.contact_id and not survivor.contact_id:
            survivor.contact_id = old.contact_id
            contact_moves.append(old_id)
        survivor.company_id = survivor.company_id or old.company_id
        old.contact_id = None
    if contact_moves:
        Profile.objects.filter(pk__in=contact_moves).update(contact=None)
    return dirty


def event_traits(*, event_type: str, traits: dict, email: str, current: dict) -> dict:
    """The traits one event sets on its profile: an identify's or alias's traits, and the event's e-mail
    when neither they nor the profile (`current`) have one."""
    new = dict(traits or {}) if event_type in ("identify", "alias") else {}
    if email and "email" not in new and "email" not in current:
        new["email"] = email
    return new


def profile_traits_rebuild(*, profile: Profile) -> None:
    """Set the profile's traits, trait times and seen times again from its own stored events, in time
    order, by the rule ingestion applies (after an unmerge, so each side keeps what its events said).
    Traits no event set (a profile a journey made from a contact) are kept. Writes the row."""
    traits = {key: value for key, value in profile.traits.items() if not profile.trait_times.get(key)}
    times: dict[str, str] = {}
    first = last = None
    events = Event.objects.filter(profile=profile).order_by("timestamp", "message_id")
    for event in events.only("id", "type", "timestamp", "message_id", "traits", "context").iterator():
        first, last = first or event.timestamp, event.timestamp
        new = event_traits(
            event_type=event.type,
            traits=event.traits,
            email=email_of(event.traits or {}, event.context or {}),
            current=traits,
        )
        if new:
            traits_merge(traits=traits, times=times, new=new, new_times=time_key(event.timestamp))
    profile.traits, profile.trait_times = traits, times
    if first is not None:
        profile.first_seen, profile.last_seen = first, last
    profile.updated_at = timezone.now()
    profile.save(update_fields=["traits", "trait_times", "first_seen", "last_seen", "updated_at"])


def _events_fold(
    events: list[NormalizedEvent], profiles: dict[int, Profile], profile_of: dict[str, int]
) -> tuple[set[int], list[NormalizedEvent]]:
    """Seen times and traits from the batch's events in time order; returns the profiles whose traits
    changed and the group calls."""
    dirty: set[int] = set()
    group_events = []
    for event in sorted(events, key=lambda e: (e.timestamp, e.message_id)):
        profile = profiles.get(profile_of.get(event.message_id, 0))
        if profile is None:
            continue
        profile.first_seen = min(filter(None, (profile.first_seen, event.timestamp)))
        profile.last_seen = max(filter(None, (profile.last_seen, event.timestamp)))
        if event.type == "group":
            group_events.append(event)
        new = event_traits(
            event_type=event.type, traits=event.traits, email=event.email, current=profile.traits
        )
        if new and traits_merge(
            traits=profile.traits, times=profile.trait_times, new=new, new_times=time_key(event.timestamp)
        ):
            dirty.add(profile.pk)
    return dirty, group_events


def _companies_set(
    group_events: list[NormalizedEvent], profiles: dict[int, Profile], profile_of: dict[str, int]
) -> None:
    groups = groups_apply(group_events)
    for event in group_events:
        group = groups.get(event.group_id)
        if group is not None and group.company_id:
            profiles[profile_of[event.message_id]].company_id = group.company_id


def profiles_apply(
    *, events: list[NormalizedEvent], resolution: Resolution, source_name: str = ""
) -> list[int]:
    """Traits, seen times, merges' trait folding, CRM links, company and computed traits of the batch's profiles.

    Returns the sorted ids of the live profiles that changed. A fixed number of queries per batch: the
    profiles were read and locked by the resolution; only ones it did not hold are read here.
    """
    profiles = _profiles_held(resolution)
    if not profiles:
        return []
    links_before = {pk: (p.contact_id, p.company_id) for pk, p in profiles.items()}
    # Profiles whose traits or links changed; the rest only get seen times and computed traits.
    dirty = _merges_fold(profiles, resolution.merged)
    changed, group_events = _events_fold(events, profiles, resolution.profile_ids)
    dirty |= changed
    _companies_set(group_events, profiles, resolution.profile_ids)

    live = [p for p in profiles.values() if p.merged_into_id is None and p.pk not in resolution.merged]
    contacts_link(live)
    now = timezone.now()
    for profile in live:
        profile.updated_at = now
    computed_fold(
        profiles=live,
        events=events,
        profile_of=resolution.profile_ids,
        source_name=source_name,
        # A survivor's history grew by the merged profile's events: aggregate it again from the store.
        recompute=set(resolution.merged.values()),
        created=set(resolution.created),
    )
    dirty.update(p.pk for p in live if links_before.get(p.pk) != (p.contact_id, p.company_id))
    store.bulk_update([p for p in live if p.pk in dirty], PROFILE_FIELDS)
    store.bulk_update([p for p in live if p.pk not in dirty], TOUCH_FIELDS)
    return sorted(p.pk for p in live)


PROFILE_FIELDS = (
    "traits",
    "trait_times",
    "first_seen",
    "last_seen",
    "contact",
    "company",
    "updated_at",
    "computed_traits",
)
# Profiles whose traits did not change: only seen times and computed traits are written.
TOUCH_FIELDS = ("first_seen", "last_seen", "updated_at", "computed_traits")


def _touch_deltas(
    profile_ids: list[int],
    events: list[NormalizedEvent],
    profile_of: dict[str, int],
    folds: list[ComputedTrait],
) -> list[dict]:
    """Per profile: the batch's event count, earliest and latest event and each foldable trait's delta."""
    by_profile: dict[int, list[NormalizedEvent]] = {}
    for event in events:
        by_profile.setdefault(profile_of.get(event.message_id, 0), []).append(event)
    rows = []
    for pk in profile_ids:
        new = by_profile.get(pk, [])
        if not new:
            continue
        first = min(e.timestamp for e in new)
        last = max(e.timestamp for e in new)
        deltas = {}
        for definition in folds:
            # The fold of the batch alone (no stored value); the statement combines it with the stored one.
            deltas[definition.key] = fold(definition, None, new)
        rows.append(
            {
                "id": pk,
                "n": len(new),
                "first_seen": first,
                "last_seen": last,
                "first_text": seen_text(first),
                "last_text": seen_text(last),
                "d": deltas,
            }
        )
    return rows


_TOUCH_SQL = """
    UPDATE profiles_profile AS p SET
        first_seen = LEAST(p.first_seen, v.first_seen),
        last_seen = GREATEST(p.last_seen, v.last_seen),
        updated_at = %(now)s,
        computed_traits = p.computed_traits || jsonb_build_object(
            'total_events', coalesce((p.computed_traits ->> 'total_events')::bigint, 0) + v.n,
            'channels_seen', CASE
                WHEN %(channel)s = '' OR p.computed_traits -> 'channels_seen' ? %(channel)s
                THEN p.computed_traits -> 'channels_seen'
                ELSE (SELECT jsonb_agg(c ORDER BY c COLLATE "C") FROM (
                    SELECT jsonb_array_elements_text(p.computed_traits -> 'channels_seen')
                    UNION SELECT %(channel)s
                ) AS x(c))
            END,
            'first_seen', CASE WHEN p.first_seen IS NULL OR v.first_seen < p.first_seen
                THEN to_jsonb(v.first_text) ELSE p.computed_traits -> 'first_seen' END,
            'last_seen', CASE WHEN p.last_seen IS NULL OR v.last_seen > p.last_seen
                THEN to_jsonb(v.last_text) ELSE p.computed_traits -> 'last_seen' END
        ) || {folded} || coalesce(v.h, '{{}}'::jsonb)
    FROM json_to_recordset(%(rows)s::json) AS v(
        id bigint, n bigint, first_seen timestamptz, last_seen timestamptz, first_text text, last_text text,
        d jsonb, h jsonb
    )
    WHERE p.id = v.id
    RETURNING p.id
"""
_TOUCH_LOCK_SQL = """
    SELECT id FROM profiles_profile
    WHERE id = ANY(%(ids)s::bigint[]) AND merged_into_id IS NULL AND computed_traits ?& %(keys)s::text[]
    ORDER BY id FOR NO KEY UPDATE
"""


def profiles_touch(
    *, profile_ids: Iterable[int], events: list[NormalizedEvent], profile_of: dict[str, int], source_name: str
) -> list[int]:
    """Fold stored events into the seen times and computed traits of profiles resolved without a lock.

    Runs in its own short transaction after the events committed (PostgreSQL): the rows are locked in id
    order, then one UPDATE folds the batch into each row in SQL (first/last seen, total events, channels,
    unwindowed count/sum/min/max) without reading the rows into Python, so the locks are held for
    milliseconds. Windowed, first/last and most-frequent traits are aggregated from the events just before.
    Profiles the UPDATE leaves alone (merged away meanwhile, or missing a trait defined since their last
    write) are refreshed in full by profiles_refresh. Returns the ids of the live profiles written.
    """
    ids = sorted(set(profile_ids))
    if not ids:
        return []
    definitions = list(ComputedTrait.objects.filter(enabled=True).order_by("key"))
    folds = [d for d in definitions if foldable(d)]
    history = [d for d in definitions if not foldable(d)]
    rows = _touch_deltas(ids, events, profile_of, folds)
    if history:
        values = computed_values(profile_ids=ids, definitions=history, built_ins=False)
        for row in rows:
            row["h"] = values.get(row["id"], {})
    params = {
        "now": timezone.now(),
        "channel": source_name,
        "keys": sorted({*BUILT_INS, *(d.key for d in definitions)}),
    }
    pairs = []
    for i, definition in enumerate(folds):
        params[f"k{i}"] = definition.key
        pairs.append(f"%(k{i})s::text, {combine_sql(definition, f'k{i}')}")
    folded = f"jsonb_build_object({', '.join(pairs)})" if pairs else "'{}'::jsonb"
    # Lock in id order the rows the statement can fold (live, with every trait already stored).
    lockable = {pk for (pk,) in store.fetch(_TOUCH_LOCK_SQL, {"ids": ids, "keys": params["keys"]})}
    params["rows"] = store.json_text([row for row in rows if row["id"] in lockable])
    written = [pk for (pk,) in store.fetch(_TOUCH_SQL.format(folded=folded), params)]
    left = sorted(set(ids) - set(written))
    return sorted({*written, *profiles_refresh(profile_ids=left)}) if left else sorted(written)


def profiles_refresh(*, profile_ids: Iterable[int]) -> list[int]:
    """Bring these profiles' seen times and computed traits back in line with their stored events.

    A merged-away profile is followed to its live survivor, and events still pointing at it (stored by a
    batch that resolved it before the merge committed) move there. The repair path of profiles_touch:
    after a concurrent merge, and from the sweeper for a group whose touch transaction never ran.
    Returns the live profile ids refreshed.
    """
    live_of: dict[int, int] = {}
    pending = sorted(set(profile_ids))
    parents = dict(Profile.objects.filter(pk__in=pending).values_list("pk", "merged_into_id"))
    for _ in range(10):  # merge chains are short; each round reads the next link of all of them
        follow = sorted({parent for parent in parents.values() if parent is not None} - parents.keys())
        if not follow:
            break
        parents.update(Profile.objects.filter(pk__in=follow).values_list("pk", "merged_into_id"))
    for start in pending:
        profile, seen = start, set()
        while parents.get(profile) is not None and profile not in seen:
            seen.add(profile)
            profile = parents[profile]
        if profile in parents:
            live_of[start] = profile
    moved = {old: new for old, new in live_of.items() if old != new}
    if moved:
        Event.objects.filter(profile_id__in=sorted(moved)).update(
            profile_id=Case(*[When(profile_id=old, then=Value(new)) for old, new in moved.items()])
        )
    live = sorted(set(live_of.values()))
    if not live:
        return []
    list(Profile.objects.select_for_update(no_key=True).filter(pk__in=live).order_by("pk").values_list("pk"))
    spans = (
        Event.objects.filter(profile_id__in=live)
        .values("profile_id")
        .annotate(first=Min("timestamp"), last=Max("timestamp"))
    )
    profiles = {p.pk: p for p in Profile.objects.filter(pk__in=live).only("id", "first_seen", "last_seen")}
    for row in spans.order_by():
        profile = profiles[row["profile_id"]]
        profile.first_seen = min(filter(None, (profile.first_seen, row["first"])))
        profile.last_seen = max(filter(None, (profile.last_seen, row["last"])))
    now = timezone.now()
    for profile in profiles.values():
        profile.updated_at = now
    store.bulk_update(list(profiles.values()), ("first_seen", "last_seen", "updated_at"))
    computed_refresh(profile_ids=live)
    return live
