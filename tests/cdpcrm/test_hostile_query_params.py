"""Hostile query parameters on pages (NUL bytes, wrong types, impossible offsets) are ignored, never a 500."""

import datetime

import pytest
from django.utils import timezone

from contacts.models import Activity, Contact
from tests.segments import factories as seg

pytestmark = pytest.mark.django_db

NUL_PAGES = [
    ("/contacts/", "q"),
    ("/contacts/", "tag"),
    ("/contacts/export.csv", "q"),
    ("/companies/", "q"),
    ("/companies/", "industry"),
    ("/deals/", "q"),
    ("/deals/list/", "q"),
    ("/cdp/profiles/", "q"),
    ("/segments/builder/suggestions/", "event"),
    ("/search/", "q"),
    ("/tickets/", "q"),
]


@pytest.mark.parametrize(("path", "param"), NUL_PAGES)
@pytest.mark.parametrize("value", ["\x00", "a\x00b", "%00"])
def test_nul_bytes_in_filters_are_ignored(admin_client_role, path, param, value):
    response = admin_client_role.get(path, {param: value})
    assert response.status_code == 200, (path, param, response.status_code)


@pytest.mark.parametrize("path", ["/deals/", "/deals/list/", "/deals/forecast/"])
@pytest.mark.parametrize("owner", ["abc", "1.5", "-1", "99999999999999999999999", "none", "\x00"])
def test_owner_that_is_not_a_user_id_is_ignored(admin_client_role, path, owner):
    assert admin_client_role.get(path, {"owner": owner}).status_code == 200


@pytest.mark.parametrize("offset", ["+16:00", "-23:59", "+99:00", "+15:60", "+01:00"])
def test_date_time_cursor_with_an_impossible_utc_offset_is_ignored(admin_client_role, offset):
    contact = Contact.objects.create(first_name="Ann", email="ann@example.com")
    Activity.objects.create(contact=contact, kind="note", subject="Hi", occurred_at=timezone.now())
    profile = seg.profile(traits={"name": "Ann"})
    stamp = f"2026-01-01T00:00:00{offset}"
    pages = [
        (f"/contacts/{contact.pk}/activities/older/", {"before_at": stamp, "before_id": "1"}),
        (f"/cdp/profiles/{profile.pk}/timeline/", {"cursor": f"{stamp}|event|1"}),
        (f"/cdp/contacts/{contact.pk}/timeline/", {"cursor": f"{stamp}|event|1"}),
    ]
    for path, params in pages:
        response = admin_client_role.get(path, params)
        assert response.status_code in (200, 404), (path, response.status_code)


@pytest.mark.parametrize("offset", ["+16:00", "-23:59"])
def test_api_date_time_filters_with_an_offset_postgresql_refuses_still_filter(admin_api, offset):
    Contact.objects.create(first_name="Ann", email="ann@example.com")
    late = admin_api.get("/api/contacts/", {"updated_after": f"2999-01-01T00:00:00{offset}"})
    early = admin_api.get("/api/contacts/", {"updated_after": f"2000-01-01T00:00:00{offset}"})
    assert (late.status_code, early.status_code) == (200, 200)
    assert (late.json()["count"], early.json()["count"]) == (0, 1)
    assert admin_api.get("/api/contacts/", {"updated_after": "2026-01-01T00:00:00+99:00"}).status_code == 400


@pytest.mark.parametrize("offset", ["+16:00", "-23:59"])
def test_a_logged_activity_or_task_with_an_offset_postgresql_refuses_is_stored_in_utc(sales_client, offset):
    contact = Contact.objects.create(first_name="Ann", email="ann@example.com")
    when = f"2026-03-01T12:00:00{offset}"
    logged = sales_client.post(
        f"/contacts/{contact.pk}/activities/", {"kind": "note", "subject": "Hi", "occurred_at": when}
    )
    tasked = sales_client.post(f"/contacts/{contact.pk}/tasks/", {"title": "Call back", "due_at": when})
    assert logged.status_code < 400 and tasked.status_code < 400
    expected = datetime.datetime.fromisoformat(when)
    assert Activity.objects.get(contact=contact).occurred_at == expected
    assert contact.tasks.get().due_at == expected
