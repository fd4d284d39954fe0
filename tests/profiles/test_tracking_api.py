"""The Segment-compatible tracking API: calls, auth, limits, rejection, clock skew, dedup, gzip, CORS."""

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from profiles.models import Event, IngestBatch, IngestError, Profile, ProfileMerge

from .factories import basic_auth, make_source, track

pytestmark = pytest.mark.django_db

CALLS = [
    (
        "/v1/track",
        {"userId": "u1", "event": "Order Completed", "properties": {"revenue": 42}},
        "track",
        "Order Completed",
    ),
    (
        "/v1/identify",
        {"userId": "u1", "traits": {"email": "Ann@Example.com", "plan": "gold"}},
        "identify",
        "",
    ),
    (
        "/v1/page",
        {"anonymousId": "a1", "name": "Home", "category": "Shop", "properties": {"url": "https://x.test/"}},
        "page",
        "Home",
    ),
    ("/v1/screen", {"userId": "u1", "name": "Basket"}, "screen", "Basket"),
    ("/v1/group", {"userId": "u1", "groupId": "acme", "traits": {"name": "Acme"}}, "group", ""),
    ("/v1/alias", {"userId": "u1", "previousId": "a1"}, "alias", ""),
]


@pytest.mark.parametrize(("path", "payload", "event_type", "name"), CALLS)
def test_each_call_type_is_stored_as_an_event(post, source_and_key, path, payload, event_type, name):
    response = post(path, {**payload, "messageId": "m-1"})

    assert response.status_code == 200
    assert response.json() == {"success": True}
    event = Event.objects.get()
    assert (event.type, event.name, event.message_id, event.source) == (
        event_type,
        name,
        "m-1",
        source_and_key[0],
    )
    assert event.profile_id is not None
    assert IngestBatch.objects.get().processed_at is not None


def test_batch_stores_every_event_and_merges_batch_context(post):
    payload = {
        "batch": [track(1), track(2, context={"locale": "fr-FR"}), {**track(3), "type": "page", "name": "P"}],
        "context": {"locale": "en-GB", "app": {"name": "shop"}},
        "integrations": {"All": True},
    }

    assert post("/v1/batch", payload).status_code == 200

    events = {e.message_id: e for e in Event.objects.all()}
    assert set(events) == {"msg-1", "msg-2", "msg-3"}
    assert events["msg-1"].context["locale"] == "en-GB"
    assert events["msg-2"].context["locale"] == "fr-FR"
    assert events["msg-2"].context["app"] == {"name": "shop"}
    assert events["msg-3"].integrations == {"All": True}


def test_short_paths_used_by_analytics_js_work(post):
    assert post("/v1/t", track(1)).status_code == 200
    assert post("/v1/b", {"batch": [track(2)]}).status_code == 200
    assert Event.objects.count() == 2


def test_message_id_is_assigned_when_absent(post):
    post("/v1/track", {"userId": "u1", "event": "Signed Up"})
    assert Event.objects.get().message_id.startswith("gen-")


def test_write_key_in_body_authenticates(post, source_and_key):
    _, key = source_and_key
    response = post("/v1/track", {**track(1), "writeKey": key}, key=None)
    assert response.status_code == 200
    assert Event.objects.count() == 1


@pytest.mark.parametrize("headers", [{}, {"HTTP_AUTHORIZATION": basic_auth("wrong-key")}])
def test_missing_or_wrong_key_is_401_json(client, db, headers):
    response = client.post("/v1/track", data=json.dumps(track(1)), content_type="application/json", **headers)
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert "key" in response.json()["error"]
    assert not IngestBatch.objects.exists()


def test_disabled_source_is_403_with_a_clear_message(post):
    _, key = make_source(name="Old app", enabled=False)
    response = post("/v1/track", track(1), key=key)
    assert response.status_code == 403
    assert "disabled" in response.json()["error"]


def test_rotated_key_is_rejected_and_new_key_accepted(post, source_and_key):
    from profiles.sources.services import source_rotate_key

    source, old_key = source_and_key
    new_key = source_rotate_key(source=source)
    assert post("/v1/track", track(1), key=old_key).status_code == 401
    assert post("/v1/track", track(2), key=new_key).status_code == 200


def test_event_over_32kb_is_refused(post):
    response = post("/v1/track", track(1, properties={"blob": "x" * 33_000}))
    assert response.status_code == 400
    assert "32 KB" in response.json()["error"]


def test_an_oversized_event_in_a_batch_is_rejected_alone_and_the_rest_stored(post, source_and_key):
    source, _ = source_and_key
    big = track(2, properties={"blob": "x" * 33_000})
    response = post("/v1/batch", {"batch": [track(1), big, track(3)]})
    assert response.status_code == 200
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["msg-1", "msg-3"]
    error = IngestError.objects.get()
    assert error.position == 1 and error.message_id == "msg-2"
    assert error.reason.startswith("the event is larger than 32 KB")
    source.refresh_from_db()
    assert (source.events_accepted, source.events_rejected) == (2, 1)


def test_request_over_500kb_is_refused(post):
    batch = [track(n, properties={"blob": "x" * 20_000}) for n in range(30)]
    response = post("/v1/batch", {"batch": batch})
    assert response.status_code == 400
    assert "500 KB" in response.json()["error"]


def test_events_past_the_2500th_are_rejected_and_the_first_2500_stored(post):
    batch = [{"type": "track", "event": "E", "userId": "u", "messageId": f"m-{n}"} for n in range(2503)]
    response = post("/v1/batch", {"batch": batch})
    assert response.status_code == 200
    assert Event.objects.count() == 2500
    assert not Event.objects.filter(message_id__in=["m-2500", "m-2501", "m-2502"]).exists()
    errors = list(IngestError.objects.order_by("position"))
    assert [e.position for e in errors] == [2500, 2501, 2502]
    assert errors[0].reason == "the batch has 2503 events: only the first 2500 are stored"


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]"])
def test_unparseable_or_non_object_json_is_400(post, raw):
    response = post("/v1/track", None, raw=raw)
    assert response.status_code == 400
    assert response.json()["success"] is False


def test_batch_that_is_not_a_list_names_the_field(post):
    response = post("/v1/batch", {"batch": {"type": "track"}})
    assert response.status_code == 400
    assert response.json()["field"] == "batch"


def test_invalid_events_are_rejected_individually_and_counted(post, source_and_key):
    source, _ = source_and_key
    payload = {
        "batch": [
            track(1),
            {"type": "track", "event": "No ids", "messageId": "bad-1"},
            {"type": "track", "userId": "u", "messageId": "bad-2"},
            {"type": "group", "userId": "u", "messageId": "bad-3"},
            {"type": "alias", "previousId": "p", "anonymousId": "a", "messageId": "bad-4"},
            {"type": "fly", "userId": "u", "messageId": "bad-5"},
            track(2),
        ]
    }

    assert post("/v1/batch", payload).status_code == 200

    assert set(Event.objects.values_list("message_id", flat=True)) == {"msg-1", "msg-2"}
    reasons = dict(IngestError.objects.values_list("message_id", "reason"))
    assert reasons == {
        "bad-1": "userId or anonymousId is required",
        "bad-2": "event is required for track calls",
        "bad-3": "groupId is required for group calls",
        "bad-4": "previousId and userId are required for alias calls",
        "bad-5": "type must be one of track, identify, page, screen, group, alias",
    }
    source.refresh_from_db()
    assert (source.events_accepted, source.events_rejected) == (2, 5)
    batch = IngestBatch.objects.get()
    assert (batch.accepted_count, batch.rejected_count) == (2, 5)


def test_clock_skew_is_corrected_from_sent_at(post):
    # The device clock is 2 hours fast: it says the event happened 10 s before it was sent.
    device_now = datetime.now(UTC) + timedelta(hours=2)
    payload = track(
        1, originalTimestamp=(device_now - timedelta(seconds=10)).isoformat(), sentAt=device_now.isoformat()
    )

    post("/v1/track", payload)

    event = Event.objects.get()
    assert abs((event.received_at - event.timestamp) - timedelta(seconds=10)) < timedelta(seconds=1)
    assert event.sent_at == datetime.fromisoformat(device_now.isoformat())


def test_batch_level_sent_at_corrects_every_event(post):
    device_now = datetime(2030, 1, 1, tzinfo=UTC)
    items = [track(n, timestamp=(device_now - timedelta(minutes=n)).isoformat()) for n in (1, 2)]
    post("/v1/batch", {"batch": items, "sentAt": device_now.isoformat()})
    for event in Event.objects.all():
        expected = event.received_at - timedelta(minutes=int(event.message_id[-1]))
        assert abs(event.timestamp - expected) < timedelta(seconds=1)


def test_historical_timestamp_without_sent_at_is_kept(post):
    post("/v1/track", track(1, timestamp="2021-03-04T05:06:07Z"))
    assert Event.objects.get().timestamp == datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_same_message_id_twice_gives_one_event(post):
    post("/v1/track", track(1))
    post("/v1/track", track(1))
    post("/v1/batch", {"batch": [track(1), track(1)]})
    assert Event.objects.filter(message_id="msg-1").count() == 1
    assert IngestBatch.objects.filter(processed_at__isnull=False).count() == 3


def test_same_message_id_from_two_sources_is_two_events(post):
    _, other_key = make_source(name="App")
    post("/v1/track", track(1))
    post("/v1/track", track(1), key=other_key)
    assert Event.objects.count() == 2


def test_gzip_body_is_accepted(post):
    raw = gzip.compress(json.dumps({"batch": [track(1), track(2)]}).encode())
    response = post("/v1/batch", None, raw=raw, headers={"HTTP_CONTENT_ENCODING": "gzip"})
    assert response.status_code == 200
    assert Event.objects.count() == 2


def test_corrupt_gzip_is_400(post):
    response = post("/v1/batch", None, raw=b"not gzip", headers={"HTTP_CONTENT_ENCODING": "gzip"})
    assert response.status_code == 400


def test_cors_preflight_allows_a_browser_on_another_origin(client, db):
    response = client.options(
        "/v1/batch",
        HTTP_ORIGIN="https://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    allowed = response["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_cors_header_on_the_actual_post(post):
    response = post("/v1/track", track(1), headers={"HTTP_ORIGIN": "https://shop.example"})
    assert response["Access-Control-Allow-Origin"] == "*"


@override_settings(TRACKING_RATE_LIMIT="2/m")
def test_rate_limit_answers_429_with_retry_after(post):
    from django.core.cache import cache

    cache.clear()
    assert post("/v1/track", track(1)).status_code == 200
    assert post("/v1/track", track(2)).status_code == 200
    response = post("/v1/track", track(3))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["X-RateLimit-Reset"] == response["Retry-After"]  # seconds, as Segment's libraries read it
    assert Event.objects.count() == 2
    cache.clear()


def test_get_is_not_allowed(client, db):
    assert client.get("/v1/track").status_code == 405


def test_enrichment_adds_ip_campaign_and_device_for_browser_sources(post):
    iphone = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
    )
    payload = {
        "type": "page",
        "anonymousId": "a1",
        "name": "Landing",
        "context": {
            "page": {"url": "https://shop.example/?utm_source=news&utm_medium=email&utm_campaign=spring"}
        },
    }
    post("/v1/page", payload, headers={"HTTP_USER_AGENT": iphone, "REMOTE_ADDR": "203.0.113.9"})

    context = Event.objects.get().context
    assert context["ip"] == "203.0.113.9"
    assert context["campaign"] == {"source": "news", "medium": "email", "name": "spring"}
    assert context["os"]["name"] == "iOS"
    assert context["browser"]["name"] == "Mobile Safari"
    assert context["device"]["type"] == "mobile"


def test_server_source_gets_ip_only_when_direct(post):
    _, key = make_source(name="Backend", kind="server")
    post("/v1/track", track(1), key=key, headers={"REMOTE_ADDR": "198.51.100.1"})
    post("/v1/track", track(2, context={"direct": True}), key=key, headers={"REMOTE_ADDR": "198.51.100.1"})
    ips = dict(Event.objects.values_list("message_id", "context__ip"))
    assert ips == {"msg-1": None, "msg-2": "198.51.100.1"}


def test_identify_sets_traits_and_links_email_identity(post):
    post(
        "/v1/identify",
        {"userId": "u9", "anonymousId": "anon-9", "traits": {"email": "Zoe@Example.com", "plan": "pro"}},
    )
    post("/v1/track", {"anonymousId": "anon-9", "event": "Cart Viewed"})
    post("/v1/track", {"userId": "other", "event": "X", "context": {"traits": {"email": "zoe@example.com"}}})

    # A profile never holds two user_ids: "other" sharing Zoe's e-mail gets its own profile, refusal recorded.
    profile = Profile.objects.get(identities__kind="user_id", identities__value="u9")
    assert profile.traits == {"email": "Zoe@Example.com", "plan": "pro"}
    assert set(profile.identities.values_list("kind", "value")) == {
        ("user_id", "u9"),
        ("anonymous_id", "anon-9"),
        ("email", "zoe@example.com"),
    }
    other = Profile.objects.get(identities__kind="user_id", identities__value="other")
    assert set(Event.objects.filter(name="X").values_list("profile_id", flat=True)) == {other.pk}
    assert set(Event.objects.exclude(name="X").values_list("profile_id", flat=True)) == {profile.pk}
    assert ProfileMerge.objects.get().kind == ProfileMerge.Kind.REFUSED


def test_analytics_settings_point_the_browser_library_at_our_v1(client, source_and_key):
    _, key = source_and_key
    for path in (f"/v1/projects/{key}/settings", f"/cdp/analytics/v1/projects/{key}/settings"):
        response = client.get(path)
        assert response.status_code == 200
        segment = response.json()["integrations"]["Segment.io"]
        assert segment == {**segment, "apiKey": key, "apiHost": "testserver/v1", "protocol": "http"}
        assert response["Access-Control-Allow-Origin"] == "*"
    assert client.get("/v1/projects/not-a-key/settings").status_code == 404


def test_analytics_js_is_served_without_login_and_only_from_the_vendored_folder(client, db):
    script = client.get("/cdp/analytics/analytics.js/v1/anykey/analytics.min.js")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert client.get("/cdp/analytics/analytics-next/bundles/..%2F..%2Fsettings.py").status_code == 404
    assert client.get("/cdp/analytics/analytics-next/bundles/LICENSE.MD").status_code == 404
