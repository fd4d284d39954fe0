"""CDP context where support and sales work: the ticket page's customer card, key properties on the timeline."""

import datetime

import pytest
from django.urls import reverse

from profiles.models import Event, Identity, Profile
from profiles.unify.timeline import event_highlights
from tests.profiles.factories import make_source
from tests.tickets.factories import ContactFactory, ticket_make

pytestmark = pytest.mark.django_db
T0 = datetime.datetime(2026, 4, 1, 10, tzinfo=datetime.UTC)


def _customer_with_orders():
    contact = ContactFactory(email="olga@example.com")
    profile = Profile.objects.create(contact=contact, last_seen=T0, first_seen=T0)
    Identity.objects.create(kind="email", value="olga@example.com", profile=profile)
    source = make_source(name="Shop")[0]
    for n, (revenue, product) in enumerate(
        ((120.5, "Linen shirt"), (80, "Wool scarf"), (35, "Socks"), (9, "Old one"))
    ):
        Event.objects.create(
            source=source, profile=profile, message_id=f"o{n}", type="track", name="Order Completed",
            timestamp=T0 - datetime.timedelta(days=n), received_at=T0,
            properties={"order_id": f"A-{n}", "revenue": revenue, "currency": "EUR", "products": [{"name": product}]},
        )  # fmt: skip
    return contact, profile


def test_the_ticket_page_loads_orders_last_seen_and_segments_into_the_customer_card(
    support_client, support_user
):
    contact, profile = _customer_with_orders()
    ticket = ticket_make(user=support_user, contact=contact)
    page = support_client.get(ticket.get_absolute_url()).content.decode()
    card = page[page.index('id="customer-context"') :]
    context_url = reverse("profiles:contact_customer_context", args=[contact.pk])
    assert (
        f'hx-get="{context_url}"' in card and reverse("segments:contact_segments", args=[contact.pk]) in card
    )
    html = support_client.get(context_url).content.decode()
    assert "EUR 120.5" in html and "Linen shirt" in html and "#A-0" in html and "Last seen" in html
    assert "Old one" not in html  # the latest three orders only


def test_behaviour_items_show_amount_product_and_page_inline():
    assert event_highlights({"revenue": 42, "currency": "USD", "product": "Boots"}) == [
        ("amount", "USD 42"),
        ("product", "Boots"),
    ]
    assert event_highlights({}, {"page": {"url": "https://shop.example/a"}}) == [
        ("page", "https://shop.example/a")
    ]
    assert event_highlights({"revenue": {"nested": True}, "products": "not a list", "url": 5}) == []
    two = event_highlights({"products": [{"name": "Hat"}, {"name": "Scarf"}]})
    assert two == [("product", "Hat and 1 more")]


def test_the_timeline_shows_the_highlights_without_opening_details(sales_client):
    contact, profile = _customer_with_orders()
    html = sales_client.get(reverse("profiles:contact_timeline", args=[contact.pk])).content.decode()
    assert 'data-highlight="amount"' in html and "EUR 120.5" in html and "Linen shirt" in html
