"""With the database or the cache Redis unreachable: the APIs answer JSON 503 with Retry-After (the tracking
API too, so client libraries retry), and staff pages show the styled "temporarily unavailable" page."""

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client

from tests.profiles.factories import basic_auth, make_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(sales_user):
    client = Client(raise_request_exception=False)
    client.force_login(sales_user)
    return client


@pytest.fixture
def database_down(monkeypatch):
    """Every query fails the way a stopped PostgreSQL (or a lost SQLite file) makes it fail."""

    def refuse(self, *args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    monkeypatch.setattr(CursorWrapper, "executemany", refuse)


def _unavailable_json(response) -> dict:
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert int(response["Retry-After"]) > 0
    return response.json()


def test_tracking_api_answers_json_503_with_retry_after_when_the_database_is_down(database_down):
    client = Client(raise_request_exception=False)
    auth = {"HTTP_AUTHORIZATION": basic_auth("any-key")}
    for path, body in (
        ("/v1/track", '{"event": "Viewed", "userId": "u1"}'),
        ("/v1/batch", '{"batch": [{"type": "track", "event": "Viewed", "userId": "u1"}]}'),
        ("/v1/identify", '{"userId": "u1", "traits": {"plan": "gold"}}'),
    ):
        answer = _unavailable_json(client.post(path, data=body, content_type="application/json", **auth))
        assert answer["success"] is False and answer["code"] == "unavailable"
    config = client.get("/sourceConfig/?writeKey=any-key", **auth)
    assert _unavailable_json(config)["code"] == "unavailable"


def test_rest_and_profile_apis_answer_json_503_when_the_database_is_down(database_down):
    client = Client(raise_request_exception=False)
    rest = client.get("/api/segments/", HTTP_AUTHORIZATION="Token 0123456789abcdef")
    assert "temporarily unavailable" in _unavailable_json(rest)["detail"]
    profile = client.get(
        "/v1/spaces/s/collections/users/profiles/user_id:u1/traits",
        **{"HTTP_AUTHORIZATION": basic_auth("token")},
    )
    assert _unavailable_json(profile)["code"] == "unavailable"


def test_staff_pages_show_the_styled_unavailable_page_when_the_database_is_down(logged_in, database_down):
    response = logged_in.get("/contacts/")
    html = response.content.decode()
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert "Temporarily unavailable" in html and 'data-status="503"' in html
    assert "vendor/bootstrap/bootstrap.min.css" in html and "<nav" not in html  # the layout, logged out


def test_a_staff_write_with_the_cache_redis_down_shows_the_unavailable_page_with_navigation(
    logged_in, monkeypatch
):
    """Saving a contact asks the cache which journeys are live; with the cache Redis down the user gets the
    styled 503 page in the full layout (the database is up), not a raw 500."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from contacts.models import Contact

    def cache_down(*args, **kwargs):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("django.core.cache.cache.get", cache_down)
    response = logged_in.post(
        "/contacts/new/",
        {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "lifecycle_stage": "lead"},
    )
    html = response.content.decode()
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert "Temporarily unavailable" in html and "<nav" in html
    assert not Contact.objects.filter(email="ada@example.com").exists()  # nothing half-saved


def test_tracking_goes_on_with_the_cache_redis_down(db):
    """Covered in depth by tests/profiles/test_tracking_edge.py; here: the answer is a 200, not a 503."""
    from django.test import override_settings

    _source, key = make_source()
    with override_settings(CACHE_URL="redis://127.0.0.1:1/1"):
        response = Client().post(
            "/v1/track",
            data='{"event": "Viewed", "userId": "u1"}',
            content_type="application/json",
            HTTP_AUTHORIZATION=basic_auth(key),
        )
    assert response.status_code == 200 and response.json() == {"success": True}
