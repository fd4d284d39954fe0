"""RudderStack's browser SDK endpoints: the source config at /sourceConfig/ and beacons at /beacon/v1/batch."""

import json

import pytest

from profiles.models import Event

from .factories import basic_auth, make_source, track

pytestmark = pytest.mark.django_db

# The query string the v3 SDK (@rudderstack/analytics-js) builds for its config request.
SDK_QUERY = "p=npm&v=3.34.1&build=modern&lockIntegrationsVersion=true&lockPluginsVersion=true"


def test_source_config_is_what_the_sdk_validates_and_sends_nothing_elsewhere(client):
    source, key = make_source(name="Shop web", kind="website")
    response = client.get(f"/sourceConfig/?{SDK_QUERY}&writeKey={key}", HTTP_ORIGIN="https://shop.example")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    config = response.json()["source"]
    # What the SDK checks before it loads (isValidSourceConfig): an id, a config object, a destinations list.
    assert config["id"] and isinstance(config["config"], dict) and config["destinations"] == []
    assert config["enabled"] is True and config["writeKey"] == key and config["name"] == "Shop web"
    assert config["config"]["statsCollection"] == {
        "errors": {"enabled": False},
        "metrics": {"enabled": False},
    }


def test_source_config_reads_the_key_from_basic_auth_too_and_knows_disabled_sources(client):
    source, key = make_source()
    source.enabled = False
    source.save()
    response = client.get(f"/sourceConfig/?{SDK_QUERY}", HTTP_AUTHORIZATION=basic_auth(key))
    assert response.status_code == 200 and response.json()["source"]["enabled"] is False


def test_source_config_of_an_unknown_key_is_a_json_404(client, db):
    response = client.get(f"/sourceConfig/?{SDK_QUERY}&writeKey=nope")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_beacon_batch_with_the_key_in_the_query_string_is_stored(
    client, django_capture_on_commit_callbacks
):
    source, key = make_source(kind="website")
    body = {"batch": [track(1), track(2, type="page", name="Home")], "sentAt": "2026-01-01T00:00:00.000Z"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/beacon/v1/batch?writeKey={key}", data=json.dumps(body), content_type="text/plain"
        )
    assert response.status_code == 200 and response.json() == {"success": True}
    assert sorted(Event.objects.values_list("type", flat=True)) == ["page", "track"]


def test_a_beacon_without_a_valid_key_is_refused(client, db):
    response = client.post("/beacon/v1/batch?writeKey=nope", data='{"batch": []}', content_type="text/plain")
    assert response.status_code == 401
    assert (
        client.post("/v1/batch?writeKey=nope", data='{"batch": []}', content_type="text/plain").status_code
        == 401
    )
