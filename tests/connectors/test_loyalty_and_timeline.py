"""Connector events on the CRM side: loyalty points from orders (refunds take them back), the timeline."""

import base64
import hashlib
import hmac

import pytest
from django.urls import reverse

from contacts.models import LoyaltyAccount, LoyaltyNote
from contacts.services.loyalty import loyalty_balance_matches_ledger
from profiles.connectors.models import LoyaltyCredit
from profiles.models import Source
from tests.contacts.factories import ContactFactory, LoyaltyAccountFactory

from .conftest import connector_source, fixture_bytes

pytestmark = pytest.mark.django_db

SECRET = "shpss_loyalty"


def signed(body: bytes, topic: str, webhook_id: str = "w1") -> dict:
    digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": digest, "X-Shopify-Webhook-Id": webhook_id}


@pytest.fixture
def member():
    contact = ContactFactory(email="john@example.com", first_name="John", last_name="Smith")
    return LoyaltyAccountFactory(contact=contact)


def test_order_completed_earns_points_per_currency_unit_and_a_refund_takes_them_back(member, deliver):
    shop = connector_source(Source.Kind.SHOPIFY, secret=SECRET, name="Shopify", loyalty_points_per_unit=2)
    order = fixture_bytes("shopify_orders_create.json")
    refund = fixture_bytes("shopify_refunds_create.json")
    deliver(shop, order, headers=signed(order, "orders/create"))
    member.refresh_from_db()
    assert member.points_balance == 776  # revenue 388.00 x 2
    earned = LoyaltyNote.objects.get(account=member, kind="earned")
    assert earned.text == "Order Completed 820982911946154508 (Shopify)"
    for _ in range(2):  # replays credit nothing more
        deliver(shop, order, headers=signed(order, "orders/paid", "w2"))
    deliver(shop, refund, headers=signed(refund, "refunds/create", "w3"))
    member.refresh_from_db()
    assert member.points_balance == 776 - 398  # the refund's 199.00 x 2
    assert LoyaltyCredit.objects.count() == 2
    assert loyalty_balance_matches_ledger(member)


def test_no_points_without_a_rate_or_a_membership(deliver):
    contact = ContactFactory(email="john@example.com")
    shop = connector_source(Source.Kind.SHOPIFY, secret=SECRET, name="Shopify")
    account = LoyaltyAccountFactory(contact=contact)
    order = fixture_bytes("shopify_orders_create.json")
    deliver(shop, order, headers=signed(order, "orders/create"))
    assert LoyaltyAccount.objects.get(pk=account.pk).points_balance == 0
    assert not LoyaltyCredit.objects.exists()


def test_connector_events_are_on_the_contacts_timeline_with_the_channel_named(member, deliver, sales_client):
    shop = connector_source(Source.Kind.SHOPIFY, secret=SECRET, name="Shopify")
    order = fixture_bytes("shopify_orders_create.json")
    deliver(shop, order, headers=signed(order, "orders/create"))
    html = sales_client.get(reverse("profiles:contact_timeline", args=[member.contact_id])).content.decode()
    assert "Order Completed" in html
    assert "SHOPIFY" in html


def test_a_failing_loyalty_credit_does_not_fail_the_batch(member, deliver, monkeypatch):
    from profiles.connectors import loyalty

    def broken(**kwargs):
        raise RuntimeError("loyalty is down")

    monkeypatch.setattr(loyalty, "loyalty_credit_profiles", broken)
    monkeypatch.setattr("profiles.connectors.tasks.loyalty_credit_profiles", broken)
    shop = connector_source(Source.Kind.SHOPIFY, secret=SECRET, name="Shopify", loyalty_points_per_unit=1)
    order = fixture_bytes("shopify_orders_create.json")
    deliver(shop, order, headers=signed(order, "orders/create"))
    from profiles.models import IngestBatch

    batch = IngestBatch.objects.get(source=shop)
    assert (batch.attempts, batch.accepted_count) == (0, 2)
