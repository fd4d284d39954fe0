"""REST API for sources and events (token auth, role permissions)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from profiles.models import Event, Source
from profiles.tracking.cache import source_by_write_key

from .factories import make_source

pytestmark = pytest.mark.django_db


def test_marketing_creates_a_source_and_gets_the_key_once(marketing_api):
    response = marketing_api.post(
        "/api/cdp/sources/", {"name": "Android app", "kind": "android"}, format="json"
    )
    assert response.status_code == 201
    key = response.json()["write_key"]
    assert source_by_write_key(write_key=key).name == "Android app"
    listing = marketing_api.get("/api/cdp/sources/").json()
    assert "write_key" not in listing["results"][0]


def test_bad_kind_names_the_field(marketing_api):
    response = marketing_api.post("/api/cdp/sources/", {"name": "X", "kind": "fax"}, format="json")
    assert response.status_code == 400
    assert "kind" in response.json()


def test_rotate_key_and_disable(marketing_api):
    source, old = make_source()
    new = marketing_api.post(f"/api/cdp/sources/{source.pk}/rotate-key/").json()["write_key"]
    assert source_by_write_key(write_key=old) is None and source_by_write_key(write_key=new) == source
    assert (
        marketing_api.patch(f"/api/cdp/sources/{source.pk}/", {"enabled": False}, format="json").status_code
        == 200
    )
    assert not Source.objects.get(pk=source.pk).enabled


def test_sales_reads_but_cannot_create_or_rotate(sales_api):
    source, _ = make_source()
    assert sales_api.get("/api/cdp/sources/").status_code == 200
    assert (
        sales_api.post("/api/cdp/sources/", {"name": "X", "kind": "server"}, format="json").status_code == 403
    )
    assert sales_api.post(f"/api/cdp/sources/{source.pk}/rotate-key/").status_code == 403


def test_csv_upload_through_the_api_reports_bad_rows(marketing_api, django_capture_on_commit_callbacks):
    source, _ = make_source(kind="offline")
    data = b"event,timestamp,user_id,amount\nOrder Completed,2025-01-02,c1,10\nOrder Completed,,c2,5\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = marketing_api.post(
            f"/api/cdp/sources/{source.pk}/csv/",
            {"file": SimpleUploadedFile("o.csv", data)},
            format="multipart",
        )
    assert response.status_code == 200
    assert response.json()["accepted_rows"] == 1
    assert response.json()["errors"] == [{"row": 3, "reason": "timestamp is empty"}]
    assert Event.objects.get().properties == {"amount": 10}


def test_events_are_listed_with_filters(marketing_api, post):
    post(
        "/v1/batch",
        {
            "batch": [
                {"type": "track", "event": "A", "userId": "u1"},
                {"type": "track", "event": "B", "userId": "u2"},
            ]
        },
    )
    response = marketing_api.get("/api/cdp/events/", {"name": "B"})
    assert response.status_code == 200
    assert [e["user_id"] for e in response.json()["results"]] == ["u2"]


def test_source_errors_follow_the_api_contract(marketing_api):
    response = marketing_api.post(
        "/api/cdp/sources/", {"name": "X", "kind": "fax", "write_key": "mine"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"write_key": ["This field does not exist here."]}
    assert not Source.objects.filter(name="X").exists()
