"""Shopify webhooks: HMAC check, orders, refunds, checkouts (and Cart Abandoned), customers, replays."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from profiles.connectors.models import OpenCheckout, WebhookDelivery
from profiles.connectors.services import carts_abandon
from profiles.models import Event, IngestBatch, Profile, Source

from .conftest import connector_source, fixture_bytes

pytestmark = pytest.mark.django_db

SECRET = "shpss_0123456789abcdef0123456789abcdef"


def signed(
    body: bytes, topic: str, *, secret: str = SECRET, webhook_id: str = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
):
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Shop-Domain": "example.myshopify.com",
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-API-Version": "2024-07",
    }


@pytest.fixture
def shop():
    return connector_source(Source.Kind.SHOPIFY, secret=SECRET, name="Shopify")


def test_order_becomes_order_completed_and_identify_on_the_buyers_profile(shop, deliver):
    body = fixture_bytes("shopify_orders_create.json")
    response = deliver(shop, body, headers=signed(body, "orders/create"))
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True, "status": "accepted", "events": 2}
    order = Event.objects.get(source=shop, name="Order Completed")
    assert order.message_id == "shopify-order-820982911946154508"
    props = order.properties
    assert props["order_id"] == "820982911946154508"
    assert (props["total"], props["revenue"], props["shipping"], props["discount"]) == (
        388.0,
        388.0,
        10.0,
        20.0,
    )
    assert props["currency"] == "USD"
    assert props["products"][0] == {
        "product_id": "632910392",
        "variant": "808950810",
        "sku": "IPOD2008PINK",
        "name": "IPod Nano - 8GB",
        "price": 199.0,
        "quantity": 1,
    }
    assert order.timestamp.isoformat() == "2022-01-01T00:00:00+00:00"
    identify = Event.objects.get(source=shop, type="identify")
    assert identify.traits["email"] == "john@example.com"
    assert identify.traits["name"] == "John Smith"
    profile = Profile.objects.get(pk=order.profile_id)
    assert identify.profile_id == profile.pk
    kinds = dict(profile.identities.values_list("kind", "value"))
    assert kinds["email"] == "john@example.com"
    assert kinds["external:shopify_customer"] == "115310627314723954"
    assert WebhookDelivery.objects.get(source=shop).topic == "orders/create"


def test_bad_signature_is_401_and_stores_nothing(shop, deliver):
    body = fixture_bytes("shopify_orders_create.json")
    headers = signed(body, "orders/create", secret="not-the-secret")
    response = deliver(shop, body, headers=headers)
    assert response.status_code == 401
    assert "X-Shopify-Hmac-Sha256" in response.json()["error"]
    headers = signed(body, "orders/create")
    tampered = body.replace(b'"388.00"', b'"1.00"')
    assert deliver(shop, tampered, headers=headers).status_code == 401
    del headers["X-Shopify-Hmac-Sha256"]
    assert deliver(shop, body, headers=headers).status_code == 401
    assert not IngestBatch.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_replayed_delivery_stores_every_event_once(shop, deliver):
    body = fixture_bytes("shopify_orders_create.json")
    for _ in range(3):
        assert deliver(shop, body, headers=signed(body, "orders/create")).status_code == 200
    # orders/paid of the same order is the same Order Completed.
    paid = signed(body, "orders/paid", webhook_id="another-delivery")
    assert deliver(shop, body, headers=paid).status_code == 200
    assert Event.objects.filter(source=shop, name="Order Completed").count() == 1
    assert Event.objects.filter(source=shop).count() == 2
    assert WebhookDelivery.objects.filter(source=shop).count() == 4
    shop.refresh_from_db()
    assert shop.events_accepted == 2


def test_refund_reaches_the_profile_of_its_order(shop, deliver):
    order = fixture_bytes("shopify_orders_create.json")
    refund = fixture_bytes("shopify_refunds_create.json")
    deliver(shop, refund, headers=signed(refund, "refunds/create", webhook_id="r1"))  # before its order
    deliver(shop, order, headers=signed(order, "orders/create"))
    refunded = Event.objects.get(source=shop, name="Order Refunded")
    completed = Event.objects.get(source=shop, name="Order Completed")
    assert refunded.properties["total"] == 199.0
    assert refunded.properties["products"][0]["sku"] == "IPOD2008PINK"
    live = Profile.objects.get(pk=completed.profile_id)
    refunded_profile = Profile.objects.get(pk=refunded.profile_id)
    assert live.pk in (refunded_profile.pk, refunded_profile.merged_into_id)


def test_unknown_topic_and_malformed_body_are_200_and_recorded_as_rejected(shop, deliver, marketing_client):
    body = b'{"id": 1}'
    response = deliver(shop, body, headers=signed(body, "products/create"))
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    broken = b'{"id": 1'
    assert deliver(shop, broken, headers=signed(broken, "orders/create")).status_code == 200
    reasons = list(
        WebhookDelivery.objects.filter(status="rejected").order_by("id").values_list("reason", flat=True)
    )
    assert reasons[0] == "unknown topic 'products/create'"
    assert reasons[1].startswith("the body is not valid JSON")
    assert not IngestBatch.objects.exists()
    shop.refresh_from_db()
    assert shop.events_rejected == 2


def test_customer_identify_carries_email_phone_name_and_external_id(shop, deliver):
    body = fixture_bytes("shopify_customers_create.json")
    assert deliver(shop, body, headers=signed(body, "customers/create")).status_code == 200
    identify = Event.objects.get(source=shop)
    assert identify.type == "identify"
    assert identify.traits["email"] == "bob@biller.com"
    assert identify.traits["phone"] == "+16135550188"
    assert (identify.traits["firstName"], identify.traits["lastName"]) == ("Bob", "Biller")
    identities = set(Profile.objects.get(pk=identify.profile_id).identities.values_list("kind", "value"))
    assert ("phone", "+16135550188") in identities
    assert ("external:shopify_customer", "706405506930370084") in identities


def test_checkout_not_completed_in_time_becomes_cart_abandoned(
    shop, deliver, django_capture_on_commit_callbacks
):
    shop.connector_config = {"abandon_after_minutes": 30}
    shop.save(update_fields=["connector_config"])
    body = fixture_bytes("shopify_checkouts_create.json")
    deliver(shop, body, headers=signed(body, "checkouts/create"))
    started = Event.objects.get(source=shop, name="Checkout Started")
    assert started.properties["value"] == 199.0
    checkout = OpenCheckout.objects.get(source=shop, token="123123123")
    with django_capture_on_commit_callbacks(execute=True):
        assert carts_abandon(now=checkout.updated_at + timedelta(minutes=29)) == 0
        assert carts_abandon(now=checkout.updated_at + timedelta(minutes=31)) == 1
        assert carts_abandon(now=checkout.updated_at + timedelta(minutes=90)) == 0  # once

    abandoned = Event.objects.get(source=shop, name="Cart Abandoned")
    assert abandoned.profile_id == started.profile_id
    assert abandoned.properties["checkout_url"].startswith("https://checkout.local/")


def test_completed_checkout_is_not_abandoned(shop, deliver):
    checkout = json.loads(fixture_bytes("shopify_checkouts_create.json"))
    body = json.dumps(checkout).encode()
    deliver(shop, body, headers=signed(body, "checkouts/create"))
    order = json.loads(fixture_bytes("shopify_orders_create.json"))
    order["checkout_token"] = checkout["token"]
    body = json.dumps(order).encode()
    deliver(shop, body, headers=signed(body, "orders/create", webhook_id="o2"))
    assert carts_abandon(now=timezone.now() + timedelta(days=1)) == 0
    assert not Event.objects.filter(name="Cart Abandoned").exists()


def test_over_large_body_is_refused_with_413(shop, deliver):
    body = b'{"id": 1, "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = deliver(shop, body, headers=signed(body, "orders/create"))
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]
    assert not WebhookDelivery.objects.exists()


def test_wrong_kind_or_unknown_source_is_404(shop, client):
    assert (
        client.post(f"/v1/webhooks/{shop.pk}/stripe", data=b"{}", content_type="application/json").status_code
        == 404
    )
    assert (
        client.post("/v1/webhooks/999999/shopify", data=b"{}", content_type="application/json").status_code
        == 404
    )


def test_accepting_a_delivery_costs_a_fixed_number_of_queries(shop, client, django_assert_max_num_queries):
    """Before the 2xx: the source, the inbox row(s), the checkout it completes, the log row; no processing."""
    small = json.loads(fixture_bytes("shopify_orders_create.json"))
    large = json.loads(fixture_bytes("shopify_orders_create.json"))
    large["id"], large["checkout_token"] = 1, "another-checkout"
    large["line_items"] = large["line_items"] * 100
    counts = []
    for order in (small, large):
        body = json.dumps(order).encode()
        headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed(body, "orders/create").items()}
        with django_assert_max_num_queries(12) as captured:
            response = client.post(
                f"/v1/webhooks/{shop.pk}/shopify", data=body, content_type="application/json", **headers
            )
        assert response.status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


def test_cart_abandoned_counts_in_segments_like_any_event(shop, deliver, django_capture_on_commit_callbacks):
    from segments.rules.compiler import rule_compile

    body = fixture_bytes("shopify_checkouts_create.json")
    deliver(shop, body, headers=signed(body, "checkouts/create"))
    checkout = OpenCheckout.objects.get(source=shop)
    with django_capture_on_commit_callbacks(execute=True):
        carts_abandon(now=checkout.updated_at + timedelta(hours=2))
    rule = {"all": [{"event": "Cart Abandoned", "where": [{"property": "value", "op": "gte", "value": 100}]}]}
    members = rule_compile(rule=rule, now=timezone.now())
    started = Event.objects.get(name="Checkout Started")
    assert list(members.values_list("pk", flat=True)) == [started.profile_id]
