"""Segment's Profile API paths, parameters, envelopes, errors and auth, checked against its documentation
(the shapes are kept in tests/data/segment_profile_api.json)."""

import base64
import json
from pathlib import Path

import pytest

from common.security.tokens import api_token_create
from profiles.models import Profile
from segments.models import Membership, Segment

from .factories import basic_auth

pytestmark = pytest.mark.django_db

DOCS = json.loads((Path(__file__).parent.parent / "data" / "segment_profile_api.json").read_text())


@pytest.fixture
def profiles_get(client, sales_user, settings):
    """GET a Profile API route as Segment's docs do it: `curl -u $TOKEN: .../<external_id>/<route>`."""
    _token, key = api_token_create(user=sales_user, name="profile api")

    def get(external_id: str, route: str, query: str = "", *, token_key: str | None = key, space=None):
        path = DOCS["base"].format(space_id=space or settings.PROFILE_API_SPACE_ID, external_id=external_id)
        headers = {"HTTP_AUTHORIZATION": basic_auth(token_key)} if token_key else {}
        return client.get(f"{path}/{route}{'?' + query if query else ''}", **headers)

    return get


@pytest.fixture
def bob(post):
    post(
        "/v1/identify",
        {
            "userId": "u1234",
            "anonymousId": "a1234",
            "traits": {"first_name": "Bob", "city": "Oslo", "email": "bob@example.com"},
        },
    )
    for n in range(3):
        post(
            "/v1/track",
            {
                "userId": "u1234",
                "event": "Page Read",
                "messageId": f"read-{n}",
                "timestamp": f"2026-01-0{n + 1}T10:00:00Z",
            },
        )
    post(
        "/v1/track",
        {
            "userId": "u1234",
            "event": "Experiment Viewed",
            "messageId": "exp-1",
            "timestamp": "2026-01-05T10:00:00Z",
        },
    )
    post("/v1/group", {"userId": "u1234", "groupId": "ADGCJE3Y8H", "traits": {"name": "Acme"}})
    profile = Profile.objects.get(identities__value="u1234")
    profile.computed_traits = {**profile.computed_traits, "emails_opened_last_30_days": 33}
    profile.save(update_fields=["computed_traits"])
    return profile


def _shape(documented: dict, answered: dict) -> None:
    assert set(documented) <= set(answered), f"missing {set(documented) - set(answered)}"


def test_traits_answer_the_documented_envelope(profiles_get, bob):
    response = profiles_get("user_id:u1234", "traits")
    assert response.status_code == 200
    body = response.json()
    _shape(DOCS["routes"]["traits"]["answer"], body)
    _shape(DOCS["routes"]["traits"]["answer"]["cursor"], body["cursor"])
    assert body["traits"]["first_name"] == "Bob" and body["traits"]["emails_opened_last_30_days"] == 33
    assert body["cursor"]["has_more"] is False and body["cursor"]["next"] == ""


def test_traits_include_limit_next_verbose_and_class(profiles_get, bob):
    assert profiles_get("anonymous_id:a1234", "traits", "include=first_name,city").json()["traits"] == {
        "city": "Oslo",
        "first_name": "Bob",
    }
    first = profiles_get("user_id:u1234", "traits", "limit=2").json()
    assert len(first["traits"]) == 2 and first["cursor"]["has_more"] is True and first["cursor"]["limit"] == 2
    rest = profiles_get("user_id:u1234", "traits", f"limit=200&next={first['cursor']['next']}").json()
    assert not set(first["traits"]) & set(rest["traits"]) and rest["cursor"]["has_more"] is False
    verbose = profiles_get("user_id:u1234", "traits", "include=first_name&verbose=true").json()["traits"]
    _shape(DOCS["routes"]["traits"]["verbose_trait"], verbose["first_name"])
    assert verbose["first_name"]["value"] == "Bob"
    computed = profiles_get("user_id:u1234", "traits", "class=computed_trait&limit=200").json()["traits"]
    assert computed["emails_opened_last_30_days"] == 33 and "first_name" not in computed
    assert profiles_get("user_id:u1234", "traits", "limit=201").status_code == 400
    assert profiles_get("user_id:u1234", "traits", "class=nope").json()["error"]["code"] == "validation_error"


def test_traits_class_audience_lists_the_profiles_segments(profiles_get, bob):
    segment = Segment.objects.create(
        name="Big Spender", rule={"all": [{"trait": "city", "op": "eq", "value": "Oslo"}]}
    )
    Membership.objects.create(segment=segment, profile=bob, entered_at=bob.created_at)
    assert profiles_get("user_id:u1234", "traits", "class=audience").json()["traits"] == {"big_spender": True}


def test_external_ids_answer_the_documented_envelope(profiles_get, bob):
    body = profiles_get("email:bob@example.com", "external_ids").json()
    _shape(DOCS["routes"]["external_ids"]["answer"], body)
    _shape(DOCS["routes"]["external_ids"]["answer"]["data"][0], body["data"][0])
    assert {(row["type"], row["id"]) for row in body["data"]} == {
        ("user_id", "u1234"),
        ("anonymous_id", "a1234"),
        ("email", "bob@example.com"),
    }
    only = profiles_get("user_id:u1234", "external_ids", "include=user_id,anonymous_id&limit=1").json()
    assert len(only["data"]) == 1 and only["cursor"]["has_more"] is True
    after = profiles_get(
        "user_id:u1234", "external_ids", f"include=user_id,anonymous_id&next={only['cursor']['next']}"
    )
    assert {row["type"] for row in only["data"] + after.json()["data"]} == {"user_id", "anonymous_id"}


def test_events_answer_the_documented_envelope_newest_first(profiles_get, bob):
    body = profiles_get("user_id:u1234", "events").json()
    documented = DOCS["routes"]["events"]["answer"]
    _shape(documented, body)
    _shape(documented["data"][0], body["data"][0])
    tracks = [row for row in body["data"] if row["type"] == "track"]
    assert [row["event"] for row in tracks] == ["Experiment Viewed", "Page Read", "Page Read", "Page Read"]
    assert tracks[0]["external_ids"] == [
        {"collection": "users", "type": "user_id", "id": "u1234", "encoding": "none"}
    ]


def test_events_include_exclude_start_end_sort_limit_next(profiles_get, bob):
    reads = profiles_get("user_id:u1234", "events", "include=Page Read&sort=asc&limit=2").json()
    assert [row["message_id"] for row in reads["data"]] == ["read-0", "read-1"] and reads["cursor"][
        "has_more"
    ]
    more = profiles_get(
        "user_id:u1234", "events", f"include=Page Read&sort=asc&limit=2&next={reads['cursor']['next']}"
    )
    assert [row["message_id"] for row in more.json()["data"]] == ["read-2"]
    window = profiles_get(
        "user_id:u1234", "events", "start=2026-01-02&end=2026-01-05&include=Page Read,Experiment Viewed"
    )
    assert [row["message_id"] for row in window.json()["data"]] == ["read-2", "read-1"]
    rest = profiles_get("user_id:u1234", "events", "exclude=Page Read").json()["data"]
    assert "read-0" not in {row["message_id"] for row in rest} and "exp-1" in {
        row["message_id"] for row in rest
    }
    assert profiles_get("user_id:u1234", "events", "sort=sideways").status_code == 400
    assert profiles_get("user_id:u1234", "events", "start=not-a-date").status_code == 400


def test_metadata_answers_the_documented_fields(profiles_get, bob):
    body = profiles_get("user_id:u1234", "metadata").json()
    _shape(DOCS["routes"]["metadata"]["answer"], body)
    _shape(DOCS["routes"]["metadata"]["answer"]["metadata"], body["metadata"])
    assert body["metadata"]["first_message_id"] == "read-0" and body["metadata"]["expires_at"] is None


def test_links_list_the_accounts_of_the_user(profiles_get, bob):
    body = profiles_get("user_id:u1234", "links").json()
    documented = DOCS["routes"]["links"]["answer"]["data"][0]
    _shape(documented, body["data"][0])
    _shape(documented["external_ids"][0], body["data"][0]["external_ids"][0])
    assert body["data"][0]["external_ids"][0]["id"] == "ADGCJE3Y8H"


@pytest.mark.parametrize("route", list(DOCS["routes"]))
def test_an_unknown_profile_answers_the_documented_404(profiles_get, route, db):
    response = profiles_get("user_id:nobody", route)
    assert response.status_code == 404
    assert response.json() == DOCS["not_found"]


def test_the_access_token_is_the_basic_user_name(profiles_get, bob, client):
    assert profiles_get("user_id:u1234", "traits", token_key=None).status_code == 401
    wrong = profiles_get("user_id:u1234", "traits", token_key="not-a-token")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "authentication_error"
    assert wrong["WWW-Authenticate"].startswith("Basic")
    bearer = client.get(
        DOCS["base"].format(space_id="cdpcrm", external_id="user_id:u1234") + "/traits",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b":").decode(),
    )
    assert bearer.status_code == 401


def test_a_token_without_the_profile_permission_is_refused(profiles_get, bob, django_user_model):
    stranger = django_user_model.objects.create_user("no-roles", password="x")
    _token, key = api_token_create(user=stranger, name="stranger")
    assert profiles_get("user_id:u1234", "traits", token_key=key).status_code == 403


def test_another_space_is_not_found(profiles_get, bob):
    response = profiles_get("user_id:u1234", "traits", space="lg8283283")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_the_profile_api_is_not_open_to_other_origins(profiles_get, bob, client):
    response = client.options(
        DOCS["base"].format(space_id="cdpcrm", external_id="user_id:u1234") + "/traits",
        HTTP_ORIGIN="https://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
    )
    assert "Access-Control-Allow-Origin" not in response


def test_the_existing_profile_api_keeps_working(sales_api, bob):
    assert sales_api.get("/api/profiles/user_id:u1234/traits/").json()["traits"]["first_name"] == "Bob"


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("start=2026-01-01T00:00:00%2B99:00", 400),  # Python refuses the offset
        ("start=2026-01-01T00:00:00%2B16:00", 200),  # Python accepts it, PostgreSQL does not
        ("end=2026-01-01T00:00:00-23:59", 200),
        ("limit=%C2%B2", 400),
        ("next=99999999999999999999999", 400),
        ("include=%00", 200),
        ("start=2026-13-45", 400),
    ],
)
def test_hostile_event_parameters_answer_a_json_error_or_the_events(profiles_get, bob, query, status):
    assert profiles_get("user_id:u1234", "events", query).status_code == status
