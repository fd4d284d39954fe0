"""Profile resolution: map each event of a batch to a profile by its identifiers in a fixed number of queries.

Identifiers are (kind, value) pairs: user_id, anonymous_id and the lower-cased e-mail. One Identity row per
pair, unique in the database, so two workers that see the same new identifier end with one profile: both
insert with ignore_conflicts and re-read who won. When an event's identifiers point to two different
profiles, the event goes to the profile of its user_id (then e-mail, then anonymous id); merging those
profiles is left to the identity-resolution work of issue 6.
"""

from collections.abc import Iterable

from django.db import connection
from django.db.models import Q

from . import pgsql
from .models import Identity, Profile
from .normalize import NormalizedEvent

Identifier = tuple[str, str]
PRECEDENCE = (Identity.Kind.USER_ID, Identity.Kind.EMAIL, Identity.Kind.ANONYMOUS_ID)


def event_identifiers(event: NormalizedEvent) -> list[Identifier]:
    """The event's identifiers in precedence order."""
    pairs = [
        (Identity.Kind.USER_ID.value, event.user_id),
        (Identity.Kind.EMAIL.value, event.email),
        (Identity.Kind.ANONYMOUS_ID.value, event.anonymous_id),
    ]
    return [(kind, value) for kind, value in pairs if value]


def _identities_load(identifiers: Iterable[Identifier]) -> dict[Identifier, int]:
    by_kind: dict[str, set[str]] = {}
    for kind, value in identifiers:
        by_kind.setdefault(kind, set()).add(value)
    if not by_kind:
        return {}
    if connection.vendor == "postgresql":
        pairs = [(kind, value) for kind, values in by_kind.items() for value in sorted(values)]
        rows = pgsql.identities_load(kinds=[k for k, _ in pairs], values=[v for _, v in pairs])
        return {(kind, value): profile_id for kind, value, profile_id in rows}
    condition = Q()
    for kind, values in by_kind.items():
        condition |= Q(kind=kind, value__in=sorted(values))
    return {
        (kind, value): profile_id
        for kind, value, profile_id in Identity.objects.filter(condition).values_list(
            "kind", "value", "profile_id"
        )
    }


def _first_known(identifiers: list[Identifier], known: dict[Identifier, int]) -> int | None:
    for identifier in identifiers:
        if identifier in known:
            return known[identifier]
    return None


def _profiles_create(count: int) -> list[int]:
    if not count:
        return []
    if connection.vendor == "postgresql":
        return pgsql.profiles_insert(count=count)
    profiles = Profile.objects.bulk_create([Profile() for _ in range(count)])
    return [profile.pk for profile in profiles]


def _identities_create(identities: list[Identity]) -> None:
    if connection.vendor == "postgresql":
        pgsql.identities_insert(
            kinds=[i.kind for i in identities],
            values=[i.value for i in identities],
            profile_ids=[i.profile_id for i in identities],
        )
        return
    Identity.objects.bulk_create(identities, ignore_conflicts=True)


def profiles_resolve(*, events: list[NormalizedEvent]) -> dict[str, int]:
    """messageId -> profile id for every event; creates profiles and identities that do not exist yet.

    Queries: one read of identities, one insert of new profiles, one insert of identities, one re-read,
    one delete of profiles that lost a race; whatever the number of events.
    """
    per_event = {event.message_id: event_identifiers(event) for event in events}
    all_identifiers = {identifier for identifiers in per_event.values() for identifier in identifiers}
    known = _identities_load(all_identifiers)

    # Identifiers not known yet: group those that appear together in an event (union-find) so one new
    # person seen with an anonymous id and an e-mail in the same batch gets one profile.
    parent: dict[Identifier, Identifier] = {}

    def find(identifier: Identifier) -> Identifier:
        while parent.setdefault(identifier, identifier) != identifier:
            parent[identifier] = parent[parent[identifier]]
            identifier = parent[identifier]
        return identifier

    owner_of_group: dict[Identifier, int] = {}
    for identifiers in per_event.values():
        unknown = [identifier for identifier in identifiers if identifier not in known]
        for identifier in unknown:
            parent[find(identifier)] = find(unknown[0])
    for identifiers in per_event.values():
        unknown = [identifier for identifier in identifiers if identifier not in known]
        existing = _first_known(identifiers, known)
        if unknown and existing is not None:
            owner_of_group.setdefault(find(unknown[0]), existing)

    roots = sorted({find(identifier) for identifier in parent if find(identifier) not in owner_of_group})
    new_profile_ids = _profiles_create(len(roots))
    owner_of_group.update(dict(zip(roots, new_profile_ids, strict=True)))

    to_create = [
        Identity(kind=kind, value=value, profile_id=owner_of_group[find((kind, value))])
        for (kind, value) in parent
    ]
    if to_create:
        _identities_create(to_create)
    final = _identities_load(all_identifiers) if to_create else known

    if new_profile_ids:
        # A concurrent worker may have claimed every identifier of a profile we just made: drop it.
        used = set(final.values())
        orphans = [pk for pk in new_profile_ids if pk not in used]
        if orphans:
            Profile.objects.filter(pk__in=orphans).delete()
    return {
        message_id: profile_id
        for message_id, identifiers in per_event.items()
        if (profile_id := _first_known(identifiers, final)) is not None
    }
