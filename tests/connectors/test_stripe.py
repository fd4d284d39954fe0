"""Stripe webhooks: the t=,v1= signature with its tolerance, each event type, replays, one profile."""

import json
import time

import pytest

from profiles.connectors.models import WebhookDelivery
from profiles.connectors.stripe import signature_header
from profiles.models import Event, IngestBatch, Profile, Source
from tests.profiles.factories import basic_auth, make_source

from .conftest import connector_source, fixture_bytes, fixture_json

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH"


def signed(body: bytes, *, secret: str = SECRET, at: int | None = None) -> dict:
    return {"Stripe-Signature": signature_header(secret, body, timestamp=at)}


@pytest.fixture
def stripe_source():
    return connector_source(Source.Kind.STRIPE, secret=SECRET, name="Stripe")


def test_checkout_session_and_its_charge_are_one_order_completed(stripe_source, deliver):
    session = fixture_bytes("stripe_checkout_session_completed.json")
    charge = fixture_bytes("stripe_charge_succeeded.json")
    assert deliver(stripe_source, session, headers=signed(session)).status_code == 200
    assert deliver(stripe_source, charge, headers=signed(charge)).status_code == 200
    order = Event.objects.get(source=stripe_source, name="Order Completed")
    assert order.message_id == "stripe-order-pi_3PqK0Z2eZvKYlo2C1xYzAbCd"
    assert order.properties["total"] == 50.0
    assert order.properties["revenue"] == 45.0
    assert order.properties["shipping"] == 5.0
    assert order.properties["currency"] == "USD"
    assert order.timestamp.timestamp() == 1724150400
    identities = set(Profile.objects.get(pk=order.profile_id).identities.values_list("kind", "value"))
    assert ("email", "jenny.rosen@example.com") in identities
    assert ("external:stripe_customer", "cus_QhV2mD5c3Yb1aZ") in identities


def test_every_event_type_maps_to_its_event(stripe_source, deliver):
    for name in (
        "stripe_customer_created.json",
        "stripe_checkout_session_completed.json",
        "stripe_charge_refunded.json",
        "stripe_customer_subscription_created.json",
        "stripe_invoice_payment_failed.json",
    ):
        body = fixture_bytes(name)
        assert deliver(stripe_source, body, headers=signed(body)).json()["status"] == "accepted", name
    for kind, new_id in (("updated", "evt_upd"), ("deleted", "evt_del")):
        event = fixture_json("stripe_customer_subscription_created.json")
        event["type"], event["id"] = f"customer.subscription.{kind}", new_id
        event["data"]["object"]["status"] = "active" if kind == "updated" else "canceled"
        body = json.dumps(event).encode()
        deliver(stripe_source, body, headers=signed(body))
    names = set(Event.objects.filter(source=stripe_source, type="track").values_list("name", flat=True))
    assert names == {
        "Order Completed",
        "Order Refunded",
        "Subscription Started",
        "Subscription Changed",
        "Subscription Cancelled",
        "Payment Failed",
    }
    refund = Event.objects.get(name="Order Refunded")
    assert (refund.properties["total"], refund.properties["order_id"]) == (
        20.0,
        "pi_3PqK0Z2eZvKYlo2C1xYzAbCd",
    )
    started = Event.objects.get(name="Subscription Started")
    assert (started.properties["plan_id"], started.properties["amount"]) == (
        "price_1PqJyX2eZvKYlo2CmOnThLy1",
        15.0,
    )
    assert started.properties["interval"] == "month"
    failed = Event.objects.get(name="Payment Failed")
    assert (failed.properties["amount"], failed.properties["attempt_count"]) == (15.0, 1)
    # Known only by the customer id, a subscription still lands on Jenny's one profile.
    assert len({e.profile_id for e in Event.objects.filter(source=stripe_source)}) == 1
    identify = Event.objects.filter(source=stripe_source, type="identify").order_by("timestamp").first()
    assert identify.traits["phone"] == "+14155552671"


def test_bad_and_stale_signatures_are_401_and_store_nothing(stripe_source, deliver):
    body = fixture_bytes("stripe_charge_succeeded.json")
    assert deliver(stripe_source, body, headers=signed(body, secret="whsec_wrong")).status_code == 401
    stale = deliver(stripe_source, body, headers=signed(body, at=int(time.time()) - 301))
    assert stale.status_code == 401
    assert "tolerance" in stale.json()["error"]
    assert deliver(stripe_source, body, headers={"Stripe-Signature": "v1=abc"}).status_code == 401
    assert deliver(stripe_source, body, headers=signed(body, at=int(time.time()) - 299)).status_code == 200
    assert IngestBatch.objects.count() == 1


def test_a_tolerance_set_on_the_source_is_used(stripe_source, deliver):
    stripe_source.connector_config = {"tolerance_seconds": 30}
    stripe_source.save(update_fields=["connector_config"])
    body = fixture_bytes("stripe_charge_succeeded.json")
    assert deliver(stripe_source, body, headers=signed(body, at=int(time.time()) - 60)).status_code == 401


def test_a_redelivered_event_is_stored_once(stripe_source, deliver):
    body = fixture_bytes("stripe_invoice_payment_failed.json")
    for _ in range(3):
        assert deliver(stripe_source, body, headers=signed(body)).status_code == 200
    assert Event.objects.filter(source=stripe_source, name="Payment Failed").count() == 1
    assert (
        WebhookDelivery.objects.filter(
            source=stripe_source, external_id="evt_1PsA7c2eZvKYlo2CfAiLeDiN"
        ).count()
        == 3
    )


def test_unknown_type_is_200_and_rejected_with_the_reason(stripe_source, deliver):
    body = json.dumps({"id": "evt_x", "type": "payout.paid", "data": {"object": {}}}).encode()
    response = deliver(stripe_source, body, headers=signed(body))
    assert response.status_code == 200
    assert response.json()["reason"] == "unknown event type 'payout.paid'"


def test_stripe_events_reach_the_profile_the_tracking_api_made(
    stripe_source, deliver, client, django_capture_on_commit_callbacks
):
    website, key = make_source(name="Website", kind="website")
    identify = {"userId": "u-jenny", "traits": {"email": "Jenny.Rosen@example.com"}, "messageId": "web-1"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/v1/identify",
            data=json.dumps(identify),
            content_type="application/json",
            HTTP_AUTHORIZATION=basic_auth(key),
        )
    assert response.status_code == 200
    web_profile = Event.objects.get(source=website).profile_id
    body = fixture_bytes("stripe_checkout_session_completed.json")
    deliver(stripe_source, body, headers=signed(body))
    order = Event.objects.get(source=stripe_source, name="Order Completed")
    assert Profile.objects.get(pk=order.profile_id).pk == web_profile
