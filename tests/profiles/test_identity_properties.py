"""Property-based tests of identity resolution over random event sequences (hypothesis)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.ingest.drain import batch_process
from profiles.ingest.inbox import batch_accept, request_info_now
from profiles.models import Event, Identity, IngestBatch, Profile, ProfileMerge
from profiles.unify.identity import EMAIL, USER_ID

from .factories import make_source

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 2, 1, tzinfo=UTC)

users = st.sampled_from(["", "", "u1", "u2", "u3"])
anons = st.sampled_from(["", "a1", "a2", "a3", "a4", "a5"])
emails = st.sampled_from(["", "", "x@example.com", "y@example.com", "null"])
event = st.builds(
    lambda kind, user, anon, email: (kind, user, anon, email),
    st.sampled_from(["track", "identify", "page", "alias"]),
    users,
    anons,
    emails,
).filter(lambda e: e[1] or e[2])


def _items(sequence) -> list[dict]:
    items = []
    for n, (kind, user, anon, email) in enumerate(sequence):
        item = {"type": kind, "messageId": f"m{n}", "timestamp": (T0 + timedelta(seconds=n)).isoformat()}
        if kind == "alias":
            if not (user and anon):
                kind = item["type"] = "track"
            else:
                item["previousId"] = anon
        if kind == "track":
            item["event"] = "Thing"
        if kind == "page":
            item["name"] = "Home"
        if user:
            item["userId"] = user
        if anon and kind != "alias":
            item["anonymousId"] = anon
        if email:
            item["traits"] = {"email": email}
        items.append(item)
    return items


def _run(source, items, cuts) -> None:
    bounds = [0, *sorted(set(cuts)), len(items)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        if start < end:
            chunk = items[start:end]
            batch = batch_accept(
                source=source,
                kind="batch",
                body=json.dumps({"batch": chunk}),
                event_count=len(chunk),
                info=request_info_now(client_ip=None, user_agent="", browser_source=False),
            )
            batch_process(batch_id=batch.pk)


def _reset() -> None:
    ProfileMerge.objects.all().delete()
    Event.objects.all().delete()
    IngestBatch.objects.all().delete()
    Identity.objects.all().delete()
    Profile.objects.all().delete()


def _partition() -> set[frozenset]:
    groups: dict[int, set] = {}
    for kind, value, profile_id in Identity.objects.values_list("kind", "value", "profile_id"):
        groups.setdefault(profile_id, set()).add((kind, value))
    return {frozenset(group) for group in groups.values()}


def _check_invariants() -> None:
    live = set(Profile.objects.filter(merged_into__isnull=True).values_list("pk", flat=True))
    held: dict[int, set] = {}
    for kind, value, profile_id in Identity.objects.values_list("kind", "value", "profile_id"):
        assert profile_id in live, "every identity points to a live profile"
        held.setdefault(profile_id, set()).add((kind, value))
    for identities in held.values():
        assert len({v for k, v in identities if k == USER_ID}) <= 1, "no profile holds two user_ids"
    owner = {identity: profile_id for profile_id, identities in held.items() for identity in identities}

    def user_ids(profile_id):
        return {v for k, v in held.get(profile_id, set()) if k == USER_ID}

    for profile_id, user_id, anon, traits in Event.objects.values_list(
        "profile_id", "user_id", "anonymous_id", "traits"
    ):
        assert profile_id in live, "every event belongs to a live profile"
        if user_id:
            assert (USER_ID, user_id) in held.get(profile_id, set()), "an event's profile holds its user_id"
        wanted = {("anonymous_id", anon)} if anon else set()
        email = (traits or {}).get("email", "")
        if email and email != "null":
            wanted.add((EMAIL, email))
        for identity in wanted:
            holder = owner[identity]
            if holder != profile_id:
                # Only a refused merge (two different user_ids) leaves an identifier on another profile.
                mine, theirs = user_ids(profile_id), user_ids(holder)
                assert mine and theirs and mine != theirs, "an event's profile holds its identifiers"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(event, min_size=1, max_size=14), cuts=st.lists(st.integers(0, 14), max_size=5))
def test_resolution_invariants_and_batch_split_independence(sequence, cuts):
    source = make_source()[0]
    items = _items(sequence)
    _reset()
    _run(source, items, [])
    _check_invariants()
    one_batch = _partition()

    _reset()
    _run(source, items, [c for c in cuts if c < len(items)])
    _check_invariants()
    assert _partition() == one_batch
