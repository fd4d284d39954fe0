"""Identity resolution: map each event of a batch to one live profile, merging profiles an event ties together.

The rules follow Segment Unify:

- an event's known identifiers pick its profile; its new identifiers join that profile;
- when one event ties two profiles (identify, alias, a shared e-mail...), the younger merges into the older
  (the survivor): identities and events move, and a ProfileMerge row records the rule and the event;
- a profile never holds two different user_ids: such a merge is refused and the refusal recorded;
- blocked values never link anything (identity.py).

The whole batch is resolved in memory, event by event in batch order, then written with a fixed number of
queries. With concurrent writers (PostgreSQL) the batch first takes transaction-level advisory locks on its
identifiers that no profile holds yet (sorted, so two workers never deadlock on them) and row locks on the
profiles the others point to, so two workers seeing the same new identifiers at once end with one profile.
"""

from dataclasses import dataclass, field

from django.db import OperationalError
from django.db.models import Case, Value, When
from django.utils import timezone

from ..ingest import store
from ..ingest.normalize import NormalizedEvent
from ..models import Event, Identity, Profile, ProfileMerge
from .identity import (
    ANONYMOUS_ID,
    USER_ID,
    Identifier,
    alias_candidates,
    event_identifiers,
    identities_load,
)

LOCK_ROUNDS = 4


def _profiles_lock(profile_ids) -> dict[int, Profile]:
    return {profile.pk: profile for profile in store.rows_locked(Profile, sorted(set(profile_ids)))}


def _known_locked(
    identifiers: set[Identifier], known: dict[Identifier, int] | None = None
) -> tuple[dict[Identifier, int], dict[int, Profile]]:
    """Stored identities of the batch and their profiles, locked for this transaction.

    Between reading an identity and locking its profile a concurrent merge may move the identity to
    another profile, or another worker may store one of the new identifiers; re-reading after the lock
    catches both (READ COMMITTED sees what committed meanwhile). `known`: a first read already made.
    """
    if known is None:
        known = identities_load(identifiers)
    if not store.concurrent_writers():
        return known, _profiles_lock(known.values())
    locked: dict[int, Profile] = {}
    for _ in range(LOCK_ROUNDS):
        missing = set(known.values()) - set(locked)
        if not missing:
            return known, locked
        locked.update(_profiles_lock(missing))
        known = identities_load(identifiers)
    raise OperationalError("identity resolution kept racing with concurrent merges; retry the batch")


@dataclass
class MergeRecord:
    kind: str
    survivor: int
    merged: int
    rule: str
    identifier: str
    reason: str
    message_id: str


@dataclass
class Resolution:
    """The outcome for one batch: each event's profile, merges done, and the locked profiles."""

    profile_ids: dict[str, int] = field(default_factory=dict)
    merged: dict[int, int] = field(default_factory=dict)  # merged-away profile id -> final survivor id
    created: list[int] = field(default_factory=list)
    profiles: dict[int, Profile] = field(default_factory=dict)  # every profile involved, locked, by id
    records: list[MergeRecord] = field(default_factory=list)
    # Profiles reached only by events that change nothing but seen times and computed traits, resolved
    # without a lock (see batch_resolve): the caller updates them in a short transaction of their own.
    unlocked: set[int] = field(default_factory=set)


class _Plan:
    """In-memory resolution of one batch. New profiles get negative ids until they are inserted."""

    def __init__(self, known: dict[Identifier, int], user_ids: dict[int, set[str]]):
        self.owner = dict(known)
        self.parent: dict[int, int] = {}
        self.user_ids = user_ids
        self.next_new = 0
        self.records: list[MergeRecord] = []
        self.new_identifiers: set[Identifier] = set()

    def find(self, profile: int) -> int:
        while profile in self.parent:
            profile = self.parent[profile]
        return profile

    @staticmethod
    def _age(profile: int) -> tuple[int, int]:
        # Stored profiles are older than new ones; among new ones, the first created is the oldest.
        return (1, -profile) if profile < 0 else (0, profile)

    def new_profile(self) -> int:
        self.next_new -= 1
        self.user_ids[self.next_new] = set()
        return self.next_new

    def compatible(self, *profiles: int, extra: str = "") -> bool:
        values = {extra} if extra else set()
        for profile in profiles:
            values |= self.user_ids.get(profile, set())
        return len(values) <= 1

    def merge(
        self, a: int, b: int, *, rule: str, identifier: Identifier, message_id: str, via: Identifier | None
    ) -> int:
        survivor, merged = sorted((a, b), key=self._age)
        self.parent[merged] = survivor
        self.user_ids[survivor] = self.user_ids.get(survivor, set()) | self.user_ids.get(merged, set())
        reason = f"one event carried {':'.join(identifier)}"
        if via:
            reason += f" and {':'.join(via)}"
        self.records.append(
            MergeRecord(
                ProfileMerge.Kind.MERGE, survivor, merged, rule, ":".join(identifier), reason, message_id
            )
        )
        return survivor

    def refuse(self, a: int, b: int, *, rule: str, identifier: Identifier, message_id: str) -> None:
        survivor, merged = sorted((a, b), key=self._age)
        theirs = sorted(self.user_ids.get(a, set()) | self.user_ids.get(b, set()))
        self.records.append(
            MergeRecord(
                ProfileMerge.Kind.REFUSED,
                survivor,
                merged,
                rule,
                ":".join(identifier),
                f"a profile holds one user_id; these would hold {', '.join(theirs)}",
                message_id,
            )
        )

    def resolve(self, event: NormalizedEvent, identifiers: list[Identifier]) -> int:
        message_id = event.message_id
        user_id = next((value for kind, value in identifiers if kind == USER_ID), "")
        target: int | None = None
        if (USER_ID, user_id) in self.owner:
            target = self.find(self.owner[(USER_ID, user_id)])
        via: Identifier | None = (USER_ID, user_id) if target is not None else None
        new_user_id = user_id if target is None else ""
        candidates = [i for i in identifiers if i[0] != USER_ID]
        alias = [i for i in alias_candidates(event) if i in self.owner]
        if event.type == "alias" and not alias:
            alias = alias_candidates(event)[1:]
        candidates += [i for i in alias if i not in candidates]
        attach: list[Identifier] = [(USER_ID, user_id)] if user_id else []
        refused_for_new: list[tuple[int, Identifier, str]] = []
        for identifier in candidates:
            if identifier not in self.owner:
                attach.append(identifier)
                continue
            profile = self.find(self.owner[identifier])
            rule = self._rule(event, via or identifier)
            if target is None:
                if self.compatible(profile, extra=new_user_id):
                    target, via = profile, identifier
                else:
                    refused_for_new.append((profile, identifier, rule))
            elif profile != target:
                if self.compatible(target, profile, extra=new_user_id):
                    target = self.merge(
                        target, profile, rule=rule, identifier=identifier, message_id=message_id, via=via
                    )
                else:
                    self.refuse(target, profile, rule=rule, identifier=identifier, message_id=message_id)
        if target is None:
            target = self.new_profile()
        for profile, identifier, rule in refused_for_new:
            if self.find(profile) != target:
                self.refuse(target, profile, rule=rule, identifier=identifier, message_id=message_id)
        for identifier in attach:
            if identifier not in self.owner:
                self.owner[identifier] = target
                self.new_identifiers.add(identifier)
                if identifier[0] == USER_ID:
                    self.user_ids.setdefault(target, set()).add(identifier[1])
        return target

    @staticmethod
    def _rule(event: NormalizedEvent, identifier: Identifier) -> str:
        if event.type in ("identify", "alias"):
            return event.type
        return f"shared {identifier[0].replace('_', ' ')}"


# Events of these types change a profile's seen times and computed traits only (no traits, no links).
PASSIVE_TYPES = frozenset({"track", "page", "screen"})


def _passive_split(
    per_event: list[tuple[NormalizedEvent, list[Identifier]]], known: dict[Identifier, int]
) -> tuple[set[Identifier], set[int]]:
    """The identifiers that need their profiles locked, and the profiles that need no lock.

    A profile needs no lock when every event reaching it is passive (track, page, screen without an
    e-mail) and carries only identifiers that already belong to it: resolution neither moves nor adds
    identities there, and its seen times and computed traits are folded later with atomic row updates.
    Everything else (new identifiers, merges, traits, groups) takes the locked path.
    """
    locked_ids: set[Identifier] = set()
    locked_profiles: set[int] = set()
    passive: dict[int, list[Identifier]] = {}
    for event, identifiers in per_event:
        every = identifiers + [i for i in alias_candidates(event) if i not in identifiers]
        owners = {known.get(i) for i in every}
        if event.type in PASSIVE_TYPES and not event.email and len(owners) == 1 and None not in owners:
            passive.setdefault(owners.pop(), []).extend(every)
        else:
            locked_ids.update(every)
            locked_profiles.update(owner for owner in owners if owner is not None)
    for profile, identifiers in passive.items():
        if profile in locked_profiles:
            locked_ids.update(identifiers)
    return locked_ids, set(passive) - locked_profiles


def _wanted(per_event: list[tuple[NormalizedEvent, list[Identifier]]]) -> set[Identifier]:
    wanted: set[Identifier] = set()
    for event, identifiers in per_event:
        wanted.update(identifiers)
        wanted.update(alias_candidates(event))
    return wanted


def _locks_take(
    per_event: list[tuple[NormalizedEvent, list[Identifier]]],
    wanted: set[Identifier],
    *,
    unlocked_ok: bool,
    result: "Resolution",
) -> tuple[dict[Identifier, int], dict[int, Profile]]:
    """The batch's stored identities and their profiles, locked; `result.unlocked` gets the profiles that
    only passive events reach (with `unlocked_ok`), whose identifiers keep their first reading."""
    if not store.concurrent_writers():
        return _known_locked(wanted)
    # Only identifiers nobody holds yet need the advisory lock (two workers must not both create them);
    # known ones are protected by their profile's row lock below. In steady traffic almost every
    # identifier is known, so the lock table stays small whatever the batch size.
    first_read = identities_load(wanted)
    unknown = wanted - first_read.keys()
    store.identifiers_lock(unknown)
    to_lock = wanted
    if unlocked_ok:
        to_lock, result.unlocked = _passive_split(per_event, first_read)
    # After waiting for another worker's advisory locks, read again: it may have stored those identifiers.
    known, locked = _known_locked(
        to_lock, None if unknown else {i: first_read[i] for i in to_lock if i in first_read}
    )
    if result.unlocked:
        # Identifiers of unlocked profiles keep their first reading; a concurrent merge of such a profile
        # is caught when it is updated (traits.profiles_touch). One the locked re-read moved is locked now.
        known = {**{i: first_read[i] for i in wanted - to_lock}, **known}
        result.unlocked -= locked.keys()
    return known, locked


class _Ids:
    """Placeholder ids of a plan's new profiles -> the ids they got; `final` follows merges."""

    def __init__(self, plan: "_Plan", created: list[Profile]):
        self.plan = plan
        placeholders = range(-1, plan.next_new - 1, -1)
        self.real = {
            placeholder: profile.pk for placeholder, profile in zip(placeholders, created, strict=True)
        }

    def stored(self, profile: int) -> int:
        return self.real.get(profile, profile)

    def final(self, profile: int) -> int:
        return self.stored(self.plan.find(profile))


def _came_with(plan: "_Plan") -> dict[int, list[list[str]]]:
    """Which identities came with each merged profile: each identity's owner chain walked through the merges."""
    raw_owner: dict[Identifier, int] = {i: plan.owner[i] for i in plan.new_identifiers}
    stored_merged = sorted(profile for profile in plan.parent if profile > 0)
    if stored_merged:
        for kind, value, profile_id in Identity.objects.filter(profile_id__in=stored_merged).values_list(
            "kind", "value", "profile_id"
        ):
            raw_owner[(kind, value)] = profile_id
    came_with: dict[int, list[list[str]]] = {}
    for identifier, owner in sorted(raw_owner.items()):
        while owner in plan.parent:
            came_with.setdefault(owner, []).append(list(identifier))
            owner = plan.parent[owner]
    return came_with


def _merges_write(plan: "_Plan", ids: _Ids) -> dict[int, int]:
    """Move the identities and events of stored merged profiles to their survivors and mark every merged
    profile; returns merged-away id -> final survivor id."""
    merged_away = {ids.stored(profile): ids.final(profile) for profile in plan.parent}
    if not merged_away:
        return merged_away
    stored_merged = [profile for profile in plan.parent if profile > 0]
    if stored_merged:
        whens = [When(profile_id=old, then=Value(ids.final(old))) for old in stored_merged]
        Identity.objects.filter(profile_id__in=stored_merged).update(profile_id=Case(*whens))
        Event.objects.filter(profile_id__in=stored_merged).update(profile_id=Case(*whens))
    Profile.objects.filter(pk__in=list(merged_away)).update(
        merged_into_id=Case(*[When(pk=old, then=Value(new)) for old, new in merged_away.items()]),
        merged_at=timezone.now(),
    )
    return merged_away


def _ledger_write(plan: "_Plan", ids: _Ids, came_with: dict, source_id: int | None) -> None:
    """The batch's merges (between the profiles as stored) and refusals (between live profiles)."""
    records = _refusals_dedupe(plan.records, ids.final)
    if not records:
        return
    now = timezone.now()
    rows = []
    for r in records:
        merge = r.kind == ProfileMerge.Kind.MERGE
        at = ids.stored if merge else ids.final
        rows.append(
            ProfileMerge(
                kind=r.kind,
                survivor_id=at(r.survivor),
                merged_id=at(r.merged),
                rule=r.rule,
                identifier=r.identifier[:300],
                reason=r.reason,
                source_id=source_id,
                message_id=r.message_id,
                identities=came_with.get(r.merged, []) if merge else [],
                created_at=now,
            )
        )
    ProfileMerge.objects.bulk_create(rows)


def batch_resolve(
    *, events: list[NormalizedEvent], source_id: int | None = None, unlocked_ok: bool = False
) -> Resolution:
    """Resolve, create and merge the profiles of a batch's events; a fixed number of queries per batch.

    With `unlocked_ok` (PostgreSQL), profiles that only passive events reach are neither locked nor read:
    they come back in `Resolution.unlocked` for the caller to update after its commit, so that two
    workers whose batches reach the same customers do not queue behind each other's row locks.
    """
    per_event = [(event, event_identifiers(event)) for event in events]
    wanted = _wanted(per_event)
    result = Resolution()
    if not wanted:
        return result
    known, locked = _locks_take(per_event, wanted, unlocked_ok=unlocked_ok, result=result)
    user_ids: dict[int, set[str]] = {}
    for profile_id, value in store.identity_values_of(profile_ids=sorted(locked), kind=USER_ID):
        user_ids.setdefault(profile_id, set()).add(value)
    plan = _Plan(known, user_ids)
    targets = {event.message_id: plan.resolve(event, identifiers) for event, identifiers in per_event}

    # Every profile the plan made is inserted, in creation order (so ids keep the age order), including
    # those merged into an older one during the batch: the ledger then reads as if events came one by one.
    created = store.profiles_create(-plan.next_new)
    ids = _Ids(plan, created)
    came_with = _came_with(plan)
    result.merged = _merges_write(plan, ids)
    store.identities_create(
        [(kind, value, ids.final(plan.owner[(kind, value)])) for kind, value in sorted(plan.new_identifiers)]
    )
    _ledger_write(plan, ids, came_with, source_id)
    result.profile_ids = {message_id: ids.final(target) for message_id, target in targets.items()}
    result.created = [profile.pk for profile in created]
    result.profiles = {**locked, **{profile.pk: profile for profile in created}}
    result.records = plan.records
    return result


def _refusals_dedupe(records: list[MergeRecord], final) -> list[MergeRecord]:
    """A refusal is recorded once per (profiles, identifier): a shared device would otherwise log every event."""
    refusals = [r for r in records if r.kind == ProfileMerge.Kind.REFUSED]
    if not refusals:
        return records
    keys = {(final(r.survivor), final(r.merged), r.identifier[:300]) for r in refusals}
    existing = set(
        ProfileMerge.objects.filter(
            kind=ProfileMerge.Kind.REFUSED,
            survivor_id__in=sorted({k[0] for k in keys}),
            merged_id__in=sorted({k[1] for k in keys}),
        ).values_list("survivor_id", "merged_id", "identifier")
    )
    kept = []
    for record in records:
        if record.kind == ProfileMerge.Kind.REFUSED:
            key = (final(record.survivor), final(record.merged), record.identifier[:300])
            if key in existing:
                continue
            existing.add(key)
        kept.append(record)
    return kept


def profiles_resolve(*, events: list[NormalizedEvent]) -> dict[str, int]:
    """messageId -> profile id for these events (batch_resolve without the ledger details)."""
    return batch_resolve(events=events).profile_ids


@dataclass
class MergePreview:
    profiles: dict[int, list[str]]  # profile id -> its identifiers involved
    merges: list[MergeRecord]
    target: int | None  # None: a new profile would be created


def merge_preview(*, identifiers: list[Identifier]) -> MergePreview:
    """Dry run: what would happen if one event carried all these identifiers. Writes nothing."""
    known = identities_load(identifiers)
    user_ids: dict[int, set[str]] = {}
    for profile_id, value in Identity.objects.filter(
        profile_id__in=sorted(set(known.values())), kind=USER_ID
    ).values_list("profile_id", "value"):
        user_ids.setdefault(profile_id, set()).add(value)
    plan = _Plan(known, user_ids)
    ordered = sorted(identifiers, key=lambda i: (i[0] != USER_ID, i[0] == ANONYMOUS_ID))
    event = NormalizedEvent(
        message_id="(preview)", type="identify", timestamp=timezone.now(), received_at=timezone.now()
    )
    target = plan.resolve(event, ordered)
    involved: dict[int, list[str]] = {}
    for identifier, profile_id in known.items():
        involved.setdefault(profile_id, []).append(":".join(identifier))
    return MergePreview(profiles=involved, merges=plan.records, target=target if target > 0 else None)
