"""The Profile API: any identifier as kind:value, survivors for merged identifiers, 404 for unknown ones."""

import pytest

from profiles.models import ProfileMerge

from .factories import make_source
from .test_identity import at, profile_of, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def merged_person():
    source = make_source()[0]
    send(
        source,
        {
            "type": "identify",
            "anonymousId": "laptop",
            "userId": "u-123",
            "traits": {"email": "Ann@Example.com", "plan": "pro"},
            "timestamp": at(0),
        },
    )
    send(
        source,
        {
            "type": "track",
            "anonymousId": "phone",
            "event": "Cart Viewed",
            "properties": {"total": 20},
            "timestamp": at(1),
        },
    )
    send(source, {"type": "identify", "anonymousId": "phone", "userId": "u-123", "timestamp": at(2)})
    return profile_of("user_id", "u-123")


def test_traits_by_any_identifier(merged_person, sales_api):
    for identifier in (
        "user_id:u-123",
        "email:ann@example.com",
        "email:ANN@example.com",
        "anonymous_id:laptop",
    ):
        response = sales_api.get(f"/api/profiles/{identifier}/traits/")
        assert response.status_code == 200, identifier
        assert response.json()["id"] == merged_person.pk
        assert response.json()["traits"]["plan"] == "pro"


def test_merged_identifier_answers_with_its_survivor(merged_person, sales_api):
    merged_id = ProfileMerge.objects.get().merged_id
    response = sales_api.get("/api/profiles/anonymous_id:phone/identities/")
    assert response.json()["id"] == merged_person.pk != merged_id
    assert {"kind": "anonymous_id", "value": "phone"} in [
        {k: row[k] for k in ("kind", "value")} for row in response.json()["identities"]
    ]


def test_events_are_paginated_newest_first(merged_person, sales_api):
    response = sales_api.get("/api/profiles/user_id:u-123/events/")
    body = response.json()
    assert [e["type"] for e in body["results"]] == ["identify", "track", "identify"]
    assert "next" in body


def test_merges_list_the_ledger(merged_person, sales_api):
    merges = sales_api.get("/api/profiles/user_id:u-123/merges/").json()["merges"]
    assert [(m["kind"], m["rule"], m["survivor"]) for m in merges] == [
        ("merge", "identify", merged_person.pk)
    ]


def test_unknown_or_malformed_identifier_is_404(merged_person, sales_api):
    assert sales_api.get("/api/profiles/user_id:nobody/traits/").status_code == 404
    assert sales_api.get("/api/profiles/nonsense/traits/").status_code == 404


def test_list_and_search(merged_person, sales_api):
    make_source()
    assert sales_api.get("/api/profiles/").json()["count"] == 1
    assert (
        sales_api.get("/api/profiles/", {"q": "ann@example.com"}).json()["results"][0]["id"]
        == merged_person.pk
    )
    assert sales_api.get("/api/profiles/", {"q": "zzz"}).json()["count"] == 0


def test_profile_api_needs_authentication(merged_person, client):
    assert client.get("/api/profiles/user_id:u-123/traits/").status_code in (401, 403)


def test_global_search_finds_a_profile_by_identifier(merged_person, sales_client):
    response = sales_client.get("/search/", {"q": "anonymous_id_unused"})
    assert response.status_code == 200
    found = sales_client.get("/search/", {"q": "laptop"}).content.decode()
    assert merged_person.get_absolute_url() in found
