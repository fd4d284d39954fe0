"""Traits of any JSON type (numbers, lists, objects where a string is usual) render on every page and export."""

import csv
import io

import pytest
from django.urls import reverse

from contacts.models import Company, Contact
from profiles.models import Profile
from segments.models import Segment
from segments.services import segment_recompute

pytestmark = pytest.mark.django_db

ODD_EMAILS = [5, 3.5, True, ["a@example.com", 2], {"primary": "a@example.com", "n": [1, {"x": None}]}]


@pytest.fixture
def odd_profiles(post):
    """One profile per odd `traits.email`, sent through the tracking API like any client would."""
    for n, email in enumerate(ODD_EMAILS):
        response = post(
            "/v1/identify",
            {
                "userId": f"odd-{n}",
                "traits": {"email": email, "name": ["Ann", "Lee"], "plan": {"tier": "gold"}, "age": 41},
            },
        )
        assert response.status_code == 200
    post("/v1/track", {"userId": "odd-0", "event": "Order Completed", "properties": {"total": [1, 2]}})
    profiles = list(Profile.objects.filter(identities__value__startswith="odd-").distinct())
    assert len(profiles) == len(ODD_EMAILS)
    return profiles


def test_profile_list_and_pages_render_traits_of_any_type(marketing_client, odd_profiles):
    assert marketing_client.get(reverse("profiles:profile_list")).status_code == 200
    assert marketing_client.get(reverse("profiles:profile_list"), {"q": "odd"}).status_code == 200
    for profile in odd_profiles:
        page = marketing_client.get(reverse("profiles:profile_detail", args=[profile.pk]))
        assert page.status_code == 200
        assert "{&quot;tier&quot;: &quot;gold&quot;}" in page.content.decode()
        timeline = marketing_client.get(reverse("profiles:profile_timeline", args=[profile.pk]))
        assert timeline.status_code == 200


def test_contact_and_company_panels_and_timeline_render_traits_of_any_type(sales_client, post):
    company = Company.objects.create(name="Acme", domain="acme.example")
    contact = Contact.objects.create(first_name="Ann", email="ann@example.com", company=company)
    post("/v1/identify", {"userId": "ann", "traits": {"email": "ann@example.com", "phone": ["x", {"y": 1}]}})
    post(
        "/v1/group",
        {"userId": "ann", "groupId": "g1", "traits": {"domain": "acme.example", "items": 5, "name": ["A"]}},
    )
    panel = sales_client.get(reverse("profiles:contact_cdp", args=[contact.pk]))
    assert panel.status_code == 200
    assert "[&quot;x&quot;, {&quot;y&quot;: 1}]" in panel.content.decode()
    assert sales_client.get(reverse("profiles:contact_timeline", args=[contact.pk])).status_code == 200
    company_panel = sales_client.get(reverse("profiles:company_cdp", args=[company.pk]))
    assert company_panel.status_code == 200
    html = company_panel.content.decode()
    assert ">items</dt>" in html and ">5</dd>" in html and "[&quot;A&quot;]" in html


def test_builder_suggestions_and_segment_export_handle_traits_of_any_type(marketing_client, odd_profiles):
    for params in ({}, {"event": "Order Completed"}):
        response = marketing_client.get(reverse("segments:builder_suggestions"), params)
        assert response.status_code == 200, params
    segment = Segment.objects.create(name="Odd", rule={"trait": "age", "op": "eq", "value": 41})
    segment_recompute(segment_id=segment.pk)
    response = marketing_client.get(
        reverse("segments:segment_export", args=[segment.pk]), {"traits": "email,name,plan"}
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1 + len(ODD_EMAILS)
    assert {row[6] for row in rows[1:]} == {'{"tier": "gold"}'}
    assert {row[4] for row in rows[1:]} >= {"5", '["a@example.com", 2]'}
