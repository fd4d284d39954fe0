"""The tracking edge under bad input and failing services: nesting, keys, dates, DB or cache down, CORS."""

import logging
from datetime import UTC, datetime

import pytest
from django.db import OperationalError
from django.test import override_settings

from profiles import cache_redis
from profiles.models import Event, IngestBatch, IngestError, Profile, Source
from profiles.tracking import cache as hotpath

from .factories import basic_auth, track

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_hotpath():
    hotpath._sources.clear()
    cache_redis.reset()
    yield
    hotpath._sources.clear()
    cache_redis.reset()


@pytest.mark.parametrize("with_key", [True, False])
def test_a_body_nested_2000_levels_deep_is_a_400_naming_the_limit(post, with_key, source_and_key):
    raw = (
        b'{"writeKey": "x", "userId": "u", "event": "E", "properties": {"a": '
        + b"[" * 2000
        + b"]" * 2000
        + b"}}"
    )
    response = post("/v1/track", None, raw=raw, key=source_and_key[1] if with_key else None)
    assert response.status_code == 400
    assert response.json()["error"] == "the body is nested more than 64 levels deep"
    assert not IngestBatch.objects.exists()


def test_a_body_with_too_many_keys_is_a_400_naming_the_limit(post):
    properties = ",".join(['"k":0'] * 50_001)  # 300 KB: under the size limit
    response = post("/v1/batch", None, raw=f'{{"batch": [{{"properties": {{{properties}}}}}]}}'.encode())
    assert response.status_code == 400
    assert response.json()["error"] == "the body has more than 50,000 keys"


def test_brackets_and_colons_inside_strings_do_not_count(post):
    text = "[{" * 100 + ':"' * 50
    response = post("/v1/track", track(1, properties={"text": text, "nested": {"a": {"b": [[1]]}}}))
    assert response.status_code == 200
    assert Event.objects.get().properties["text"] == text


def test_escaped_quotes_do_not_confuse_the_nesting_check(post):
    response = post("/v1/track", track(1, properties={"q": '\\"[' * 200}))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2015-2-02T00:30:12.984Z", datetime(2015, 2, 2, 0, 30, 12, 984000, tzinfo=UTC)),
        ("2015-02-2T3:04:05+01:00", datetime(2015, 2, 2, 2, 4, 5, tzinfo=UTC)),
        ("2015-2-2", datetime(2015, 2, 2, tzinfo=UTC)),
    ],
)
def test_dates_as_segment_writes_them_are_accepted(post, value, expected):
    assert post("/v1/track", track(1, timestamp=value)).status_code == 200
    assert Event.objects.get().timestamp == expected


@pytest.mark.parametrize("value", ["2015-13-02T00:30:12Z", "2015-2-30T00:30:12Z", "yesterday", "2015-2"])
def test_what_is_not_a_date_is_still_rejected(post, value):
    assert post("/v1/batch", {"batch": [track(1, timestamp=value), track(2)]}).status_code == 200
    assert list(Event.objects.values_list("message_id", flat=True)) == ["msg-2"]
    assert IngestError.objects.get().reason.startswith("timestamp is not an ISO-8601 date")


def test_a_date_out_of_range_rejects_its_event_only(post):
    far = track(1, sentAt="9999-12-31T23:59:59Z", timestamp="0001-01-01T00:00:00Z")
    assert post("/v1/batch", {"batch": [far, track(2)]}).status_code == 200
    assert list(Event.objects.values_list("message_id", flat=True)) == ["msg-2"]
    assert "too far apart" in IngestError.objects.get().reason


def test_identify_traits_come_from_context_traits_too_and_the_root_wins(post):
    # As rudder-sdk-python and RudderStack's browser SDK send an identify: traits only in context.traits.
    rudder = {
        "userId": "u-7",
        "context": {"traits": {"email": "kim@example.com", "plan": "gold", "city": "Oslo"}},
        "traits": {"city": "Bergen"},
    }
    assert post("/v1/identify", rudder).status_code == 200
    assert (
        post(
            "/v1/alias", {"userId": "u-7", "previousId": "a-1", "context": {"traits": {"tier": 2}}}
        ).status_code
        == 200
    )
    traits = Profile.objects.get(identities__value="u-7").traits
    assert traits == {"email": "kim@example.com", "plan": "gold", "city": "Bergen", "tier": 2}


def test_track_context_traits_do_not_become_profile_traits(post):
    post("/v1/track", track(1, context={"traits": {"plan": "free"}}))
    assert "plan" not in Profile.objects.get().traits


def test_the_database_down_answers_503_json_with_retry_after(post, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(IngestBatch.objects, "create", down)
    response = post("/v1/track", track(1))
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "unavailable" and response.json()["success"] is False


def test_the_database_down_while_reading_the_source_answers_503(client, monkeypatch, db):
    monkeypatch.setattr(
        "profiles.tracking.checks.source_by_key_hash",
        lambda **kw: (_ for _ in ()).throw(OperationalError("down")),
    )
    response = client.post(
        "/v1/track", data="{}", content_type="application/json", HTTP_AUTHORIZATION=basic_auth("key")
    )
    assert response.status_code == 503 and response.json()["code"] == "unavailable"


@override_settings(CACHE_URL="redis://127.0.0.1:1/1", TRACKING_RATE_LIMIT="1/m")
def test_with_the_cache_redis_down_tracking_goes_on_without_limits_and_warns_once(post, caplog):
    with caplog.at_level(logging.WARNING, logger="profiles.cache_redis"):
        answers = [post("/v1/track", track(n)).status_code for n in range(4)]
    assert answers == [200, 200, 200, 200]  # a limit of 1/m does not apply while the cache is down
    assert Event.objects.count() == 4  # stored and drained (one drain per request while Redis is down)
    warnings = [r for r in caplog.records if "cache Redis is unreachable" in r.getMessage()]
    assert len(warnings) == 1


@override_settings(CACHE_URL="redis://127.0.0.1:1/1")
def test_with_the_cache_redis_down_a_disabled_source_is_refused_within_a_second(
    post, source_and_key, monkeypatch
):
    clock = [1000.0]
    monkeypatch.setattr(hotpath.time, "monotonic", lambda: clock[0])
    source, _ = source_and_key
    assert post("/v1/track", track(1)).status_code == 200
    Source.objects.filter(pk=source.pk).update(enabled=False)  # another process, its bump lost
    clock[0] += 1.5
    assert post("/v1/track", track(2)).status_code == 403


@override_settings(CACHE_URL="")
def test_without_a_shared_cache_another_process_disabling_a_source_counts_within_a_second(
    post, source_and_key, monkeypatch
):
    clock = [1000.0]
    monkeypatch.setattr(hotpath.time, "monotonic", lambda: clock[0])
    source, _ = source_and_key
    assert post("/v1/track", track(1)).status_code == 200
    Source.objects.filter(pk=source.pk).update(enabled=False)  # as another web process would
    clock[0] += 0.5
    assert post("/v1/track", track(2)).status_code == 200  # still trusted
    clock[0] += 0.6
    assert post("/v1/track", track(3)).status_code == 403


@pytest.mark.parametrize("path", ["/v1/t", "/v1/batch", "/beacon/v1/batch", "/sourceConfig/"])
def test_cors_preflight_allows_the_headers_browser_sdks_send(client, db, path):
    response = client.options(
        path,
        HTTP_ORIGIN="https://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-retry-count,anonymousid,sentat,rsa-retry-attempt",
    )
    assert response.status_code == 200
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].lower().split(",")}
    assert {"x-retry-count", "anonymousid", "sentat", "authorization", "rsa-retry-attempt"} <= allowed


@override_settings(TRACKING_RATE_LIMIT="1/m")
def test_a_429_is_readable_by_browser_sdks(post):
    post("/v1/track", track(1))
    response = post("/v1/track", track(2), headers={"HTTP_ORIGIN": "https://shop.example"})
    assert response.status_code == 429
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"retry-after", "x-ratelimit-reset"} <= exposed
    assert int(response["X-RateLimit-Reset"]) == int(response["Retry-After"]) >= 1
