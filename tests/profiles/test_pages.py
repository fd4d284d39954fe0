"""The Sources pages: list, create (key shown once), rotate, enable/disable, errors, CSV upload, roles."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from profiles.models import Event, IngestError, Source
from profiles.tracking.cache import source_by_write_key

from .factories import make_source, track

pytestmark = pytest.mark.django_db


def test_marketing_creates_a_source_and_sees_the_key_once(marketing_client):
    response = marketing_client.post(reverse("profiles:source_create"), {"name": "Website", "kind": "server"})

    assert response.status_code == 200
    key = response.context["write_key"]
    assert key in response.content.decode()
    source = Source.objects.get(name="Website")
    assert source_by_write_key(write_key=key) == source
    assert key not in str(Source.objects.values_list(flat=True))  # only the hash is stored
    detail = marketing_client.get(source.get_absolute_url()).content.decode()
    assert key not in detail and source.write_key_prefix in detail


def test_duplicate_name_shows_a_validation_message(marketing_client):
    make_source(name="Website")
    response = marketing_client.post(
        reverse("profiles:source_create"), {"name": "website", "kind": "website"}
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode()


def test_rotate_shows_a_new_key_and_the_old_one_stops_working(marketing_client):
    source, old_key = make_source()
    response = marketing_client.post(reverse("profiles:source_rotate", args=[source.pk]))
    new_key = response.context["write_key"]
    assert new_key != old_key
    assert source_by_write_key(write_key=old_key) is None
    assert source_by_write_key(write_key=new_key) == source


def test_disable_and_enable(marketing_client):
    source, _ = make_source()
    marketing_client.post(reverse("profiles:source_toggle", args=[source.pk]))
    source.refresh_from_db()
    assert not source.enabled
    marketing_client.post(reverse("profiles:source_toggle", args=[source.pk]))
    source.refresh_from_db()
    assert source.enabled


def test_source_page_shows_counts_and_rejected_events_with_reasons(marketing_client, post, source_and_key):
    source, _ = source_and_key
    post("/v1/batch", {"batch": [track(1), track(2), {"type": "track", "event": "X", "messageId": "bad"}]})

    page = marketing_client.get(source.get_absolute_url())

    html = page.content.decode()
    assert page.context["source"].events_accepted == 2
    assert "userId or anonymousId is required" in html
    assert "Product Viewed" in html


def test_source_list_runs_a_fixed_number_of_queries(marketing_client, django_assert_max_num_queries):
    for n in range(3):
        make_source(name=f"S{n}")
    with django_assert_max_num_queries(12) as small:
        marketing_client.get(reverse("profiles:source_list"))
    for n in range(3, 30):
        make_source(name=f"S{n}")
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = marketing_client.get(reverse("profiles:source_list"))
    assert "S29" in response.content.decode()


def test_sales_and_support_can_read_but_not_change(sales_client, support_client):
    source, _ = make_source()
    for client in (sales_client, support_client):
        assert client.get(reverse("profiles:source_list")).status_code == 200
        assert client.get(source.get_absolute_url()).status_code == 200
        assert client.get(reverse("profiles:source_create")).status_code == 403
        assert client.post(reverse("profiles:source_rotate", args=[source.pk])).status_code == 403
        assert client.post(reverse("profiles:source_toggle", args=[source.pk])).status_code == 403
        assert client.get(reverse("profiles:source_csv", args=[source.pk])).status_code == 403


def test_empty_state(marketing_client):
    assert "No sources yet" in marketing_client.get(reverse("profiles:source_list")).content.decode()


CSV = (
    "event,timestamp,email,user_id,revenue,currency,store\n"
    "Order Completed,2025-05-01T14:30:00Z,Ann@Example.com,,59.90,EUR,Milan\n"
    "Order Completed,not a date,bob@example.com,,10,EUR,Paris\n"
    "Order Completed,2025-05-02 10:05,,cust-981,120,EUR,Paris\n"
    ",2025-05-02 10:05,,cust-981,120,EUR,Paris\n"
    "Order Completed,2025-05-03,,,5,EUR,Rome\n"
)


def test_offline_csv_accepts_good_rows_and_reports_bad_rows(
    marketing_client, django_capture_on_commit_callbacks
):
    source, _ = make_source(name="Store POS", kind="offline")
    upload = SimpleUploadedFile("pos.csv", CSV.encode(), content_type="text/csv")

    with django_capture_on_commit_callbacks(execute=True):
        response = marketing_client.post(reverse("profiles:source_csv", args=[source.pk]), {"file": upload})

    result = response.context["result"]
    assert result.accepted_rows == 2
    assert [(e.row, e.reason) for e in result.errors] == [
        (3, "timestamp 'not a date' is not a date (use ISO 8601: 2025-05-01T14:30:00Z)"),
        (5, "event is empty"),
        (6, "one of user_id, anonymous_id or email is required"),
    ]
    html = response.content.decode()
    assert "2 rows accepted" in html and "3 rows rejected" in html
    events = {e.properties["store"]: e for e in Event.objects.filter(source=source)}
    assert events["Milan"].properties["revenue"] == 59.9 and events["Milan"].name == "Order Completed"
    assert events["Milan"].profile.traits["email"] == "ann@example.com"
    assert events["Paris"].user_id == "cust-981"
    assert not IngestError.objects.exists()


def test_uploading_the_same_csv_twice_stores_nothing_new(
    marketing_client, django_capture_on_commit_callbacks
):
    source, _ = make_source(name="Store POS", kind="offline")
    for _ in range(2):
        upload = SimpleUploadedFile("pos.csv", CSV.encode(), content_type="text/csv")
        with django_capture_on_commit_callbacks(execute=True):
            marketing_client.post(reverse("profiles:source_csv", args=[source.pk]), {"file": upload})
    assert Event.objects.filter(source=source).count() == 2


def test_csv_without_the_required_header_is_refused(marketing_client):
    source, _ = make_source()
    upload = SimpleUploadedFile("x.csv", b"name,amount\nx,1\n", content_type="text/csv")
    response = marketing_client.post(reverse("profiles:source_csv", args=[source.pk]), {"file": upload})
    assert response.status_code == 400
    assert "missing: event, timestamp" in response.content.decode()


def test_source_create_command_prints_only_the_key(capsys, db):
    call_command("source_create", name="iOS app", kind="ios")
    key = capsys.readouterr().out.strip()
    assert " " not in key and len(key) >= 30
    assert source_by_write_key(write_key=key).name == "iOS app"
