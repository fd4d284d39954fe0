"""Computed traits: defined in the admin, refreshed by the pipeline, full recompute, shown on pages."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from profiles.models import ComputedTrait, Profile
from profiles.unify.tasks import computed_traits_recompute_task

from .factories import make_source
from .test_identity import profile_of, send

pytestmark = pytest.mark.django_db


def ago(days: float) -> str:
    return (timezone.now() - timedelta(days=days)).isoformat()


@pytest.fixture
def definitions():
    make = ComputedTrait.objects.create
    make(
        key="orders_90d",
        label="Orders (90 days)",
        aggregation="count",
        event_name="Order Completed",
        window_days=90,
    )
    make(
        key="lifetime_revenue",
        label="Lifetime revenue",
        aggregation="sum",
        event_name="Order Completed",
        property="revenue",
    )
    make(
        key="biggest_order",
        label="Biggest order",
        aggregation="max",
        event_name="Order Completed",
        property="revenue",
    )
    make(
        key="smallest_order",
        label="Smallest order",
        aggregation="min",
        event_name="Order Completed",
        property="revenue",
    )
    make(
        key="first_category",
        label="First category",
        aggregation="first",
        event_name="Product Viewed",
        property="category",
    )
    make(
        key="last_category",
        label="Last viewed category",
        aggregation="last",
        event_name="Product Viewed",
        property="category",
    )
    make(
        key="top_category",
        label="Favourite category",
        aggregation="most_frequent",
        event_name="Product Viewed",
        property="category",
    )


def _history(source):
    send(
        source,
        {
            "type": "track",
            "userId": "u1",
            "event": "Order Completed",
            "properties": {"revenue": 40},
            "timestamp": ago(200),
        },
        {
            "type": "track",
            "userId": "u1",
            "event": "Order Completed",
            "properties": {"revenue": 60.5},
            "timestamp": ago(10),
        },
        {
            "type": "track",
            "userId": "u1",
            "event": "Product Viewed",
            "properties": {"category": "shoes"},
            "timestamp": ago(9),
        },
        {
            "type": "track",
            "userId": "u1",
            "event": "Product Viewed",
            "properties": {"category": "bags"},
            "timestamp": ago(8),
        },
        {
            "type": "track",
            "userId": "u1",
            "event": "Product Viewed",
            "properties": {"category": "bags"},
            "timestamp": ago(7),
        },
        {
            "type": "track",
            "userId": "u1",
            "event": "Product Viewed",
            "properties": {"category": "hats"},
            "timestamp": ago(1),
        },
    )


def test_pipeline_keeps_computed_traits_up_to_date(definitions):
    web = make_source(name="Web")[0]
    _history(web)
    values = profile_of("user_id", "u1").computed_traits
    assert values["orders_90d"] == 1
    assert values["lifetime_revenue"] == 100.5
    assert (values["biggest_order"], values["smallest_order"]) == (60.5, 40)
    assert (values["first_category"], values["last_category"], values["top_category"]) == (
        "shoes",
        "hats",
        "bags",
    )
    assert values["total_events"] == 6 and values["channels_seen"] == ["Web"]
    send(
        make_source(name="App")[0],
        {
            "type": "track",
            "userId": "u1",
            "event": "Order Completed",
            "properties": {"revenue": 9},
            "timestamp": ago(0),
        },
    )
    values = profile_of("user_id", "u1").computed_traits
    assert (
        values["orders_90d"] == 2
        and values["total_events"] == 7
        and values["channels_seen"] == ["App", "Web"]
    )
    assert values["last_seen"] is not None and values["first_seen"] < values["last_seen"]


def test_recompute_command_fills_a_newly_defined_trait(definitions):
    _history(make_source()[0])
    ComputedTrait.objects.create(key="views", label="Views", aggregation="count", event_name="Product Viewed")
    assert "views" not in profile_of("user_id", "u1").computed_traits
    call_command("computed_traits_recompute")
    assert profile_of("user_id", "u1").computed_traits["views"] == 4


def test_profile_without_matching_events_gets_empty_values(definitions):
    send(make_source()[0], {"type": "page", "anonymousId": "a1", "name": "Home"})
    values = profile_of("anonymous_id", "a1").computed_traits
    assert values["orders_90d"] == 0 and values["lifetime_revenue"] is None and values["top_category"] is None


def test_computed_traits_show_on_the_contact_cdp_panel(definitions, sales_client):
    from tests.contacts.factories import ContactFactory

    contact = ContactFactory(email="u1@example.com")
    _history(make_source()[0])
    send(make_source()[0], {"type": "identify", "userId": "u1", "traits": {"email": "u1@example.com"}})
    assert Profile.objects.get(contact=contact)
    panel = sales_client.get(f"/cdp/contacts/{contact.pk}/cdp/").content.decode()
    assert "Lifetime revenue" in panel and "100.5" in panel and "Favourite category" in panel
    assert "(today)" in panel  # days since last seen


def test_property_is_required_unless_counting():
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        ComputedTrait.objects.create(key="bad", label="Bad", aggregation="sum", event_name="X")


def test_marketer_defines_a_computed_trait_in_the_admin(admin_client):
    send(
        make_source()[0],
        {"type": "track", "userId": "u1", "event": "Order Completed", "properties": {"revenue": 5}},
    )
    response = admin_client.post(
        "/admin/profiles/computedtrait/add/",
        {
            "key": "revenue_30d",
            "label": "Revenue (30 days)",
            "aggregation": "sum",
            "event_name": "Order Completed",
            "property": "revenue",
            "window_days": "30",
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    trait = ComputedTrait.objects.get(key="revenue_30d")
    admin_client.post(
        "/admin/profiles/computedtrait/", {"action": "recompute", "_selected_action": [trait.pk]}
    )
    assert profile_of("user_id", "u1").computed_traits["revenue_30d"] == 5
    assert admin_client.get("/admin/profiles/profilemerge/").status_code == 200


def test_periodic_recompute_lets_an_order_leave_its_90_day_window(definitions):
    _history(make_source()[0])
    assert profile_of("user_id", "u1").computed_traits["orders_90d"] == 1
    with time_machine.travel(timezone.now() + timedelta(days=91)):
        computed_traits_recompute_task.delay()
    assert profile_of("user_id", "u1").computed_traits["orders_90d"] == 0
