"""Identity resolution: map each event of a batch to one live profile, merging profiles an event ties together.

Identifiers are (kind, value) pairs: user_id, anonymous_id, email (lower-cased, trimmed), phone (E.164) and
external ids `external:<namespace>` (context.externalIds, or traits named in IDENTITY_EXTERNAL_TRAITS).
One Identity row per pair, unique in the database. The rules follow Segment Unify:

- an event's known identifiers pick its profile; its new identifiers join that profile;
- when one event ties two profiles (identify, alias, a shared e-mail...), the younger merges into the older
  (the survivor): identities and events move, and a ProfileMerge row records the rule and the event;
- a profile never holds two different user_ids: such a merge is refused and the refusal recorded;
- blocked values (IDENTITY_BLOCKED_VALUES: "null", "undefined", "0"...) never link anything.

The whole batch is resolved in memory, event by event in batch order, then written with a fixed number of
queries. On PostgreSQL the batch first takes transaction-level advisory locks on its identifiers that no
profile holds yet (sorted, so two workers never deadlock on them) and row locks on the profiles the others
point to, so two workers seeing the same new identifiers at once end with one profile.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import phonenumbers
from django.conf import settings
from django.db import OperationalError, connection
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from ..ingest import store
from ..ingest.normalize import NormalizedEvent
from ..models import Event, Identity, Profile, ProfileMerge

Identifier = tuple[str, str]
USER_ID = Identity.Kind.USER_ID.value
ANONYMOUS_ID = Identity.Kind.ANONYMOUS_ID.value
EMAIL = Identity.Kind.EMAIL.value
PHONE = Identity.Kind.PHONE.value
EXTERNAL_PREFIX = "external:"
DEFAULT_BLOCKED = ("", "null", "undefined", "none", "nil", "0", "-1", "nan", "unknown", "anonymous")
LOCK_ROUNDS = 4


_blocked_memo: tuple[object, set[str]] = (object(), set())


def blocked_values() -> set[str]:
    """The normalised blocked values; computed once per settings value (this runs for every identifier)."""
    global _blocked_memo
    configured = getattr(settings, "IDENTITY_BLOCKED_VALUES", None)
    if configured is not _blocked_memo[0]:
        values = DEFAULT_BLOCKED if configured is None else configured
        _blocked_memo = (configured, {str(value).strip().lower() for value in values})
    return _blocked_memo[1]


def phone_e164(value) -> str:
    """The E.164 form of a phone number, or "" when it is not a valid number."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return ""
    region = getattr(settings, "PHONENUMBER_DEFAULT_REGION", None) or None
    try:
        number = phonenumbers.parse(str(value), region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def identifier_normalize(kind: str, value) -> str:
    """The stored form of an identifier value, or "" when it must not link (blocked, malformed)."""
    if value is None or isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    text = str(value).strip()
    if kind == EMAIL:
        text = text.lower()
        if "@" not in text:
            return ""
    elif kind == PHONE:
        text = phone_e164(text)
    if not text or len(text) > 255 or text.lower() in blocked_values():
        return ""
    return text


def _traits_of(event: NormalizedEvent) -> dict:
    traits = dict(event.context.get("traits") or {}) if isinstance(event.context.get("traits"), dict) else {}
    traits.update(event.traits or {})
    return traits


def event_identifiers(event: NormalizedEvent) -> list[Identifier]:
    """The event's identifiers, strongest first (user_id, email, phone, external ids, anonymous id)."""
    traits = _traits_of(event)
    pairs: list[Identifier] = [(USER_ID, event.user_id), (EMAIL, event.email or traits.get("email"))]
    pairs.append((PHONE, traits.get("phone")))
    external_ids = event.context.get("externalIds")
    if isinstance(external_ids, list):
        for item in external_ids:
            if isinstance(item, dict) and isinstance(item.get("type"), str) and item.get("id") is not None:
                pairs.append((EXTERNAL_PREFIX + item["type"].strip().lower()[:50], item["id"]))
    for trait, namespace in getattr(settings, "IDENTITY_EXTERNAL_TRAITS", {}).items():
        if traits.get(trait) is not None:
            pairs.append((EXTERNAL_PREFIX + namespace, traits[trait]))
    pairs.append((ANONYMOUS_ID, event.anonymous_id))
    seen: list[Identifier] = []
    for kind, raw in pairs:
        value = identifier_normalize(kind, raw)
        if value and (kind, value) not in seen:
            seen.append((kind, value))
    return seen


def alias_candidates(event: NormalizedEvent) -> list[Identifier]:
    """An alias call's previousId may be a user id or an anonymous id."""
    value = identifier_normalize(USER_ID, event.previous_id) if event.type == "alias" else ""
    return [(USER_ID, value), (ANONYMOUS_ID, value)] if value else []


def identifier_parse(text: str) -> Identifier | None:
    """ "kind:value" (e.g. "email:Ann@example.com", "external:shop:42") -> normalised pair, or None."""
    if text.startswith(EXTERNAL_PREFIX):
        namespace, _, value = text[len(EXTERNAL_PREFIX) :].partition(":")
        kind = EXTERNAL_PREFIX + namespace.strip().lower()
        if not namespace or not value:
            return None
    else:
        kind, sep, value = text.partition(":")
        if not sep or kind not in (USER_ID, ANONYMOUS_ID, EMAIL, PHONE):
            return None
    value = identifier_normalize(kind, value)
    return (kind, value) if value else None


def identities_load(identifiers: Iterable[Identifier]) -> dict[Identifier, int]:
    """(kind, value) -> profile id of the stored identities among these; one query."""
    by_kind: dict[str, set[str]] = {}
    for kind, value in identifiers:
        by_kind.setdefault(kind, set()).add(value)
    if not by_kind:
        return {}
    if connection.vendor == "postgresql":
        pairs = [(kind, value) for kind, values in by_kind.items() for value in values]
        rows = store.identities_owned(kinds=[p[0] for p in pairs], values=[p[1] for p in pairs])
        return {(kind, value): profile_id for kind, value, profile_id in rows}
    condition = Q()
    for kind, values in sorted(by_kind.items()):
        condition |= Q(kind=kind, value__in=sorted(values))
    return {
        (kind, value): profile_id
        for kind, value, profile_id in Identity.objects.filter(condition).values_list(
            "kind", "value", "profile_id"
        )
    }


def _lock_key(identifier: Identifier) -> int:
    digest = hashlib.blake2b(f"{identifier[0]}\x00{identifier[1]}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _advisory_lock(identifiers: Iterable[Identifier]) -> None:
    keys = sorted({_lock_key(identifier) for identifier in identifiers})
    if not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest(%s::bigint[]) AS k ORDER BY 1) AS s",
            [keys],
        )


def _profiles_lock(profile_ids: Iterable[int]) -> dict[int, Profile]:
    ids = sorted(set(profile_ids))
    if connection.vendor == "postgresql":
        # One array parameter instead of an IN list of thousands of placeholders.
        return {profile.pk: profile for profile in store.rows_locked(Profile, ids)}
    return {
        profile.pk: profile
        for profile in Profile.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }


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
    if connection.vendor != "postgresql":
        return known, _profiles_lock(known.values())
    locked: dict[int, Profile] = {}
    for _ in range(LOCK_ROUNDS):
        missing = set(known.values()) - set(locked)
        if not missing:
            return known, locked
        locked.update(_profiles_lock(missing))
        known = identities_load(identifiers)
    raise OperationalError("identity resolution kept racing with concurrent merges; retry the batch")


def _user_ids_of(profile_ids: list[int]) -> list[tuple[int, str]]:
    if not profile_ids:
        return []
    if connection.vendor == "postgresql":
        return store.identity_values_of(profile_ids=profile_ids, kind=USER_ID)
    return list(
        Identity.objects.filter(profile_id__in=profile_ids, kind=USER_ID).values_list("profile_id", "value")
    )


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


def _profiles_create(count: int) -> list[Profile]:
    """`count` new, empty profiles, in creation order (ascending ids)."""
    if not count:
        return []
    if connection.vendor != "postgresql":
        return Profile.objects.bulk_create([Profile() for _ in range(count)])
    now = timezone.now()
    empty = {"traits": {}, "trait_times": {}, "computed_traits": {}, "created_at": now, "updated_at": now}
    ids = store.insert_rows(Profile, [empty] * count)
    # from_db with every field in order takes Model.__init__'s positional fast path.
    attnames = [f.attname for f in Profile._meta.concrete_fields]
    json_fields = {"traits", "trait_times", "computed_traits"}

    def value(attname: str, pk: int):
        if attname == "id":
            return pk
        return {} if attname in json_fields else empty.get(attname)  # a fresh dict per profile

    return [Profile.from_db(None, attnames, [value(a, pk) for a in attnames]) for pk in ids]


def _identities_create(rows: list[tuple[str, str, int]]) -> None:
    """Store (kind, value, profile id) identities; one that another worker stored meanwhile fails the
    transaction on the unique constraint (the task retries) except on SQLite, which has one writer."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        now = timezone.now()
        store.insert_rows(
            Identity, [{"kind": k, "value": v, "profile_id": p, "created_at": now} for k, v, p in rows]
        )
        return
    Identity.objects.bulk_create(
        [Identity(kind=k, value=v, profile_id=p) for k, v, p in rows], ignore_conflicts=True
    )


def batch_resolve(
    *, events: list[NormalizedEvent], source_id: int | None = None, unlocked_ok: bool = False
) -> Resolution:
    """Resolve, create and merge the profiles of a batch's events; a fixed number of queries per batch.

    With `unlocked_ok` (PostgreSQL), profiles that only passive events reach are neither locked nor read:
    they come back in `Resolution.unlocked` for the caller to update after its commit, so that two
    workers whose batches reach the same customers do not queue behind each other's row locks.
    """
    per_event = [(event, event_identifiers(event)) for event in events]
    wanted: set[Identifier] = set()
    for event, identifiers in per_event:
        wanted.update(identifiers)
        wanted.update(alias_candidates(event))
    result = Resolution()
    if not wanted:
        return result
    first_read = None
    unknown: set[Identifier] = set()
    to_lock = wanted
    if connection.vendor == "postgresql":
        # Only identifiers nobody holds yet need the advisory lock (two workers must not both create
        # them); known ones are protected by their profile's row lock below. In steady traffic almost
        # every identifier is known, so the lock table stays small whatever the batch size.
        first_read = identities_load(wanted)
        unknown = wanted - first_read.keys()
        _advisory_lock(unknown)
        if unlocked_ok:
            to_lock, result.unlocked = _passive_split(per_event, first_read)
    # After waiting for another worker's advisory locks, read again: it may have stored those identifiers.
    reuse = first_read is not None and not unknown
    known, locked = _known_locked(
        to_lock, {i: p for i, p in first_read.items() if i in to_lock} if reuse else None
    )
    if result.unlocked:
        # Identifiers of unlocked profiles keep their first reading; a concurrent merge of such a profile
        # is caught when it is updated (traits.profiles_touch). One the locked re-read moved is locked now.
        known = {**{i: first_read[i] for i in wanted - to_lock}, **known}
        result.unlocked -= locked.keys()
    user_ids: dict[int, set[str]] = {}
    for profile_id, value in _user_ids_of(sorted(locked)):
        user_ids.setdefault(profile_id, set()).add(value)
    plan = _Plan(known, user_ids)
    targets = {event.message_id: plan.resolve(event, identifiers) for event, identifiers in per_event}

    # Every profile the plan made is inserted, in creation order (so ids keep the age order), including
    # those merged into an older one during the batch: the ledger then reads as if events came one by one.
    placeholders = list(range(-1, plan.next_new - 1, -1))
    created = _profiles_create(len(placeholders))
    real = {placeholder: profile.pk for placeholder, profile in zip(placeholders, created, strict=True)}

    def stored(profile: int) -> int:
        return real.get(profile, profile)

    def final(profile: int) -> int:
        return stored(plan.find(profile))

    merged_away = {stored(profile): final(profile) for profile in plan.parent}
    # Which identities came with each merged profile: walk each identity's owner chain through the merges.
    raw_owner: dict[Identifier, int] = {i: plan.owner[i] for i in plan.new_identifiers}
    stored_merged = [profile for profile in plan.parent if profile > 0]
    if stored_merged:
        for kind, value, profile_id in Identity.objects.filter(
            profile_id__in=sorted(stored_merged)
        ).values_list("kind", "value", "profile_id"):
            raw_owner[(kind, value)] = profile_id
    came_with: dict[int, list[list[str]]] = {}
    for identifier, owner in sorted(raw_owner.items()):
        while owner in plan.parent:
            came_with.setdefault(owner, []).append(list(identifier))
            owner = plan.parent[owner]
    if merged_away:
        now = timezone.now()
        if stored_merged:
            whens = [When(profile_id=old, then=Value(final(old))) for old in stored_merged]
            Identity.objects.filter(profile_id__in=stored_merged).update(profile_id=Case(*whens))
            Event.objects.filter(profile_id__in=stored_merged).update(profile_id=Case(*whens))
        Profile.objects.filter(pk__in=list(merged_away)).update(
            merged_into_id=Case(*[When(pk=old, then=Value(new)) for old, new in merged_away.items()]),
            merged_at=now,
        )
    _identities_create(
        [(kind, value, final(plan.owner[(kind, value)])) for kind, value in sorted(plan.new_identifiers)]
    )
    records = _refusals_dedupe(plan.records, final)
    if records:
        now = timezone.now()
        ProfileMerge.objects.bulk_create(
            [
                ProfileMerge(
                    kind=r.kind,
                    survivor_id=stored(r.survivor)
                    if r.kind == ProfileMerge.Kind.MERGE
                    else final(r.survivor),
                    merged_id=stored(r.merged) if r.kind == ProfileMerge.Kind.MERGE else final(r.merged),
                    rule=r.rule,
                    identifier=r.identifier[:300],
                    reason=r.reason,
                    source_id=source_id,
                    message_id=r.message_id,
                    identities=came_with.get(r.merged, []) if r.kind == ProfileMerge.Kind.MERGE else [],
                    created_at=now,
                )
                for r in records
            ]
        )
    result.profile_ids = {message_id: final(target) for message_id, target in targets.items()}
    result.merged = merged_away
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


def profile_by_identifier(*, identifier: Identifier) -> Profile | None:
    """The live profile an identifier belongs to (identities always point at live profiles)."""
    return Profile.objects.filter(identities__kind=identifier[0], identities__value=identifier[1]).first()


def profile_live(*, profile: Profile) -> Profile:
    """Follow merged_into to the live survivor."""
    seen = set()
    while profile.merged_into_id is not None and profile.pk not in seen:
        seen.add(profile.pk)
        profile = Profile.objects.get(pk=profile.merged_into_id)
    return profile


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


def _row_identifiers(event: Event) -> set[Identifier]:
    normalized = NormalizedEvent(
        message_id=event.message_id,
        type=event.type,
        timestamp=event.timestamp,
        received_at=event.received_at,
        user_id=event.user_id,
        anonymous_id=event.anonymous_id,
        previous_id=event.previous_id,
        email=str((event.traits or {}).get("email") or "").strip().lower(),
        traits=event.traits or {},
        context=event.context or {},
    )
    return set(event_identifiers(normalized)) | set(alias_candidates(normalized))


def profile_unmerge(*, merge: ProfileMerge, user=None) -> ProfileMerge:
    """Split a merged profile back out by its ledger entry, as a new ledger entry of its own.

    The identities the merged profile brought move back; the survivor's events are re-resolved: those
    whose identifiers now all belong to the split-out profile move with it (the event that tied the two
    profiles keeps its place with the survivor). Traits stay as they are on both profiles.
    """
    from django.db import transaction

    if merge.kind != ProfileMerge.Kind.MERGE or merge.undone_by_id:
        raise ValueError("only a merge that is not undone yet can be unmerged")
    with transaction.atomic():
        merged = Profile.objects.select_for_update().get(pk=merge.merged_id)
        if merged.merged_into_id is None:
            raise ValueError("this profile is not merged any more")
        survivor = profile_live(profile=merged)
        Profile.objects.select_for_update().filter(pk__in=[survivor.pk, merged.pk]).order_by("pk").exists()
        pairs = {(kind, value) for kind, value in merge.identities}
        moving = [
            identity
            for identity in Identity.objects.filter(profile=survivor)
            if (identity.kind, identity.value) in pairs
        ]
        moving_keys = {(i.kind, i.value) for i in moving}
        staying = set(Identity.objects.filter(profile=survivor).values_list("kind", "value")) - moving_keys
        Identity.objects.filter(pk__in=[i.pk for i in moving]).update(profile=merged)
        back = [
            event.pk
            for event in Event.objects.filter(profile=survivor).only(
                "id",
                "message_id",
                "type",
                "timestamp",
                "received_at",
                "user_id",
                "anonymous_id",
                "previous_id",
                "traits",
                "context",
            )
            if (ids := _row_identifiers(event)) & moving_keys and not ids & staying
        ]
        Event.objects.filter(pk__in=back).update(profile=merged)
        moved_emails = {value for kind, value in moving_keys if kind == EMAIL}
        contact_id = None
        if (
            survivor.contact_id
            and survivor.contact
            and survivor.contact.email.strip().lower() in moved_emails
        ):
            contact_id = survivor.contact_id
            Profile.objects.filter(pk=survivor.pk).update(contact=None)
        Profile.objects.filter(pk=merged.pk).update(
            merged_into=None, merged_at=None, **({"contact_id": contact_id} if contact_id else {})
        )
        undo = ProfileMerge.objects.create(
            kind=ProfileMerge.Kind.UNMERGE,
            survivor=survivor,
            merged=merged,
            rule="unmerge",
            identifier=merge.identifier,
            reason=f"undoes merge #{merge.pk}; {len(back)} events moved back",
            identities=sorted([list(pair) for pair in moving_keys]),
            created_by=user,
            created_at=timezone.now(),
        )
        merge.undone_by = undo
        merge.save(update_fields=["undone_by"])
        from ..signals import profiles_changed
        from .traits import computed_refresh

        computed_refresh(profile_ids=[survivor.pk, merged.pk])
        ids = sorted([survivor.pk, merged.pk])
        transaction.on_commit(
            lambda: profiles_changed.send(sender=Profile, profile_ids=ids, merged_profile_ids=[])
        )
    return undo
