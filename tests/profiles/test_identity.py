"""Identity resolution: linking, merging into the older profile, refusals, blocked values, traits by event time."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from profiles.ingest.drain import batch_process
from profiles.ingest.inbox import batch_accept, request_info_now
from profiles.models import Event, Identity, Profile, ProfileMerge
from profiles.unify.identity import identifier_parse

from .factories import make_source

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


_seq = iter(range(1, 10**9))


def send(source, *items) -> None:
    """Send events through the inbox and the real batch processing."""
    batch_items = [{"messageId": f"m{next(_seq)}", **item} for item in items]
    batch = batch_accept(
        source=source,
        kind="batch",
        body=json.dumps({"batch": batch_items}),
        event_count=len(batch_items),
        info=request_info_now(client_ip=None, user_agent="", browser_source=False),
    )
    batch_process(batch_id=batch.pk)


def profile_of(kind: str, value: str) -> Profile:
    return Identity.objects.select_related("profile").get(kind=kind, value=value).profile


@pytest.fixture
def source():
    return make_source()[0]


def test_identify_links_anonymous_browsing_to_the_user(source):
    send(source, {"type": "page", "anonymousId": "a1", "name": "Home", "timestamp": at(0)})
    send(source, {"type": "identify", "anonymousId": "a1", "userId": "u1", "timestamp": at(1)})
    profile = profile_of("user_id", "u1")
    assert profile == profile_of("anonymous_id", "a1")
    assert Profile.objects.count() == 1
    assert set(Event.objects.values_list("profile_id", flat=True)) == {profile.pk}


def test_second_device_merges_into_the_older_profile_with_a_ledger_row(source):
    send(source, {"type": "page", "anonymousId": "laptop", "name": "Home", "timestamp": at(0)})
    send(source, {"type": "identify", "anonymousId": "laptop", "userId": "u1", "timestamp": at(1)})
    send(source, {"type": "screen", "anonymousId": "phone", "name": "Cart", "timestamp": at(2)})
    older, younger = profile_of("anonymous_id", "laptop"), profile_of("anonymous_id", "phone")
    assert older.pk < younger.pk

    send(source, {"type": "identify", "anonymousId": "phone", "userId": "u1", "timestamp": at(3)})

    survivor = profile_of("anonymous_id", "phone")
    assert survivor.pk == older.pk
    assert Event.objects.filter(profile_id=older.pk).count() == 4
    younger.refresh_from_db()
    assert younger.merged_into_id == older.pk and not younger.identities.exists()
    merge = ProfileMerge.objects.get()
    assert (merge.kind, merge.survivor_id, merge.merged_id, merge.rule) == (
        "merge",
        older.pk,
        younger.pk,
        "identify",
    )
    assert merge.identifier == "anonymous_id:phone"
    assert merge.identities == [["anonymous_id", "phone"]]
    assert Event.objects.filter(source=source, message_id=merge.message_id, type="identify").exists()


def test_shared_email_merges_profiles(source):
    send(
        source, {"type": "track", "anonymousId": "a1", "event": "Signed Up", "traits": {}, "timestamp": at(0)}
    )
    send(source, {"type": "identify", "anonymousId": "a1", "traits": {"email": " Ann@Example.com "}})
    send(source, {"type": "track", "anonymousId": "a2", "event": "Opened", "timestamp": at(5)})
    send(
        source,
        {
            "type": "track",
            "anonymousId": "a2",
            "event": "X",
            "context": {"traits": {"email": "ann@example.com"}},
        },
    )
    assert (
        profile_of("anonymous_id", "a1")
        == profile_of("anonymous_id", "a2")
        == profile_of("email", "ann@example.com")
    )
    assert ProfileMerge.objects.get().rule == "shared email"


def test_alias_links_previous_id_to_user(source):
    send(source, {"type": "track", "anonymousId": "old-anon", "event": "Viewed", "timestamp": at(0)})
    send(source, {"type": "track", "userId": "u7", "event": "Bought", "timestamp": at(1)})
    send(source, {"type": "alias", "previousId": "old-anon", "userId": "u7", "timestamp": at(2)})
    assert profile_of("anonymous_id", "old-anon") == profile_of("user_id", "u7")
    assert ProfileMerge.objects.get().rule == "alias"


def test_merge_that_would_give_a_profile_two_user_ids_is_refused_and_recorded(source):
    send(source, {"type": "identify", "userId": "u1", "traits": {"email": "shared@example.com"}})
    send(source, {"type": "identify", "userId": "u2", "anonymousId": "a2"})
    send(
        source,
        {
            "type": "track",
            "anonymousId": "a2",
            "event": "X",
            "context": {"traits": {"email": "shared@example.com"}},
        },
    )
    assert profile_of("user_id", "u1") != profile_of("user_id", "u2")
    refusal = ProfileMerge.objects.get()
    assert refusal.kind == ProfileMerge.Kind.REFUSED
    assert "u1" in refusal.reason and "u2" in refusal.reason
    for profile in Profile.objects.filter(merged_into__isnull=True):
        assert profile.identities.filter(kind="user_id").count() <= 1


def test_new_user_id_with_a_known_anonymous_id_of_another_user_gets_its_own_profile(source):
    send(source, {"type": "identify", "userId": "u1", "anonymousId": "shared-tablet"})
    send(source, {"type": "identify", "userId": "u2", "anonymousId": "shared-tablet"})
    u1, u2 = profile_of("user_id", "u1"), profile_of("user_id", "u2")
    assert u1 != u2 and profile_of("anonymous_id", "shared-tablet") == u1
    assert ProfileMerge.objects.get().kind == ProfileMerge.Kind.REFUSED


@pytest.mark.parametrize("blocked", ["null", "undefined", "0", "NULL", " "])
def test_blocked_values_never_link(source, blocked):
    send(source, {"type": "track", "userId": blocked, "anonymousId": "a1", "event": "X"})
    send(source, {"type": "track", "userId": blocked, "anonymousId": "a2", "event": "X"})
    assert profile_of("anonymous_id", "a1") != profile_of("anonymous_id", "a2")
    assert not Identity.objects.filter(kind="user_id").exists()


def test_blocked_values_are_configurable(source, settings):
    settings.IDENTITY_BLOCKED_VALUES = ["guest"]
    send(source, {"type": "track", "userId": "guest", "anonymousId": "a1", "event": "X"})
    send(source, {"type": "track", "userId": "0", "anonymousId": "a2", "event": "X"})
    assert list(Identity.objects.filter(kind="user_id").values_list("value", flat=True)) == ["0"]


def test_phone_external_ids_and_configured_traits_are_identifiers(source, settings):
    settings.IDENTITY_EXTERNAL_TRAITS = {"shop_customer_id": "shop"}
    settings.PHONENUMBER_DEFAULT_REGION = "DE"
    send(
        source,
        {
            "type": "identify",
            "anonymousId": "a1",
            "traits": {"phone": "030 1234567", "shop_customer_id": 42},
            "context": {"externalIds": [{"id": "C-9", "type": "crm_id", "collection": "users"}]},
        },
    )
    profile = profile_of("anonymous_id", "a1")
    assert set(profile.identities.values_list("kind", "value")) == {
        ("anonymous_id", "a1"),
        ("phone", "+49301234567"),
        ("external:shop", "42"),
        ("external:crm_id", "C-9"),
    }
    send(
        source,
        {
            "type": "track",
            "anonymousId": "a9",
            "event": "Store Visit",
            "traits": {},
            "context": {"traits": {"phone": "+49 30 1234567"}},
        },
    )
    assert profile_of("anonymous_id", "a9") == profile


def test_identifier_parse_normalises_like_ingestion():
    assert identifier_parse("email: Ann@Example.COM ") == ("email", "ann@example.com")
    assert identifier_parse("external:Shop:42") == ("external:shop", "42")
    assert identifier_parse("user_id:null") is None
    assert identifier_parse("nonsense") is None


def test_traits_latest_wins_by_event_time_not_arrival_order(source):
    send(
        source,
        {"type": "identify", "userId": "u1", "traits": {"plan": "pro", "city": "Oslo"}, "timestamp": at(10)},
    )
    send(
        source,
        {"type": "identify", "userId": "u1", "traits": {"plan": "free", "age": 30}, "timestamp": at(1)},
    )
    profile = profile_of("user_id", "u1")
    assert profile.traits == {"plan": "pro", "city": "Oslo", "age": 30}


def test_merge_keeps_the_newer_trait_from_either_profile(source):
    send(
        source,
        {
            "type": "identify",
            "anonymousId": "a1",
            "userId": "u1",
            "traits": {"plan": "free"},
            "timestamp": at(1),
        },
    )
    send(
        source,
        {
            "type": "identify",
            "anonymousId": "a2",
            "traits": {"plan": "pro", "name": "Ann"},
            "timestamp": at(5),
        },
    )
    send(source, {"type": "identify", "anonymousId": "a2", "userId": "u1", "timestamp": at(6)})
    profile = profile_of("user_id", "u1")
    assert profile.traits["plan"] == "pro" and profile.traits["name"] == "Ann"


def test_batch_with_merges_runs_a_fixed_number_of_queries(source):
    def queries_for(people: int, offset: int) -> int:
        send(
            source,
            *[{"type": "page", "anonymousId": f"d1-{offset + n}", "name": "Home"} for n in range(people)],
        )
        send(
            source,
            *[{"type": "page", "anonymousId": f"d2-{offset + n}", "name": "Home"} for n in range(people)],
        )
        items = [
            item
            for n in range(people)
            for item in (
                {"type": "identify", "anonymousId": f"d1-{offset + n}", "userId": f"u{offset + n}"},
                {"type": "identify", "anonymousId": f"d2-{offset + n}", "userId": f"u{offset + n}"},
            )
        ]
        from profiles.ingest.inbox import batch_accept as accept

        batch = accept(
            source=source,
            kind="batch",
            body=json.dumps({"batch": [{"messageId": f"q{offset}-{i}", **it} for i, it in enumerate(items)]}),
            event_count=len(items),
            info=request_info_now(client_ip=None, user_agent="", browser_source=False),
        )
        with CaptureQueriesContext(connection) as ctx:
            batch_process(batch_id=batch.pk)
        return len(ctx.captured_queries)

    small, large = queries_for(2, 0), queries_for(30, 100)
    assert small == large
    assert ProfileMerge.objects.filter(kind="merge").count() == 32


def test_a_refusal_is_recorded_once_per_profiles_and_identifier(source):
    send(source, {"type": "identify", "userId": "u1", "anonymousId": "family-tablet"})
    send(source, {"type": "track", "userId": "u2", "anonymousId": "family-tablet", "event": "A"})
    send(
        source,
        {"type": "track", "userId": "u2", "anonymousId": "family-tablet", "event": "B"},
        {"type": "track", "userId": "u2", "anonymousId": "family-tablet", "event": "C"},
    )
    assert ProfileMerge.objects.filter(kind="refused").count() == 1
    assert Event.objects.filter(name__in=["A", "B", "C"], profile=profile_of("user_id", "u2")).count() == 3


def test_merge_hands_survivor_and_merged_away_ids_to_listeners(source, django_capture_on_commit_callbacks):
    from profiles.signals import profiles_changed

    send(source, {"type": "page", "anonymousId": "s1", "name": "Home", "timestamp": at(0)})
    send(source, {"type": "identify", "anonymousId": "s1", "userId": "u5", "timestamp": at(1)})
    send(source, {"type": "page", "anonymousId": "s2", "name": "Home", "timestamp": at(2)})
    older, younger = profile_of("anonymous_id", "s1"), profile_of("anonymous_id", "s2")
    received = []

    def listener(sender, **kwargs):
        received.append(kwargs)

    profiles_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            send(source, {"type": "identify", "anonymousId": "s2", "userId": "u5", "timestamp": at(3)})
    finally:
        profiles_changed.disconnect(listener)
    assert received[-1]["profile_ids"] == [older.pk]
    assert received[-1]["merged_profile_ids"] == [younger.pk]
