"""With a real Celery worker on PostgreSQL: concurrent Shopify and Stripe deliveries, replayed, all stored once."""

import base64
import hashlib
import hmac
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from profiles.connectors.models import WebhookDelivery
from profiles.connectors.stripe import signature_header
from profiles.models import Event, IngestBatch, Profile, Source

from .conftest import connector_source, fixture_json

pytestmark = pytest.mark.worker

SECRET = "shpss_worker"
ORDERS = 40


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def _order(n: int) -> bytes:
    order = fixture_json("shopify_orders_create.json")
    order["id"] = 5_000_000 + n
    order["customer"]["id"] = 9_000 + n % 10
    order["customer"]["email"] = f"buyer{n % 10}@example.com"
    return json.dumps(order).encode()


def _post(source: Source, body: bytes, webhook_id: str) -> int:
    digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    response = Client().post(
        f"/v1/webhooks/{source.pk}/shopify",
        data=body,
        content_type="application/json",
        HTTP_X_SHOPIFY_TOPIC="orders/create",
        HTTP_X_SHOPIFY_HMAC_SHA256=digest,
        HTTP_X_SHOPIFY_WEBHOOK_ID=webhook_id,
    )
    connection.close()  # each thread's own connection
    return response.status_code


def test_concurrent_and_replayed_shopify_orders_are_stored_once_by_the_worker(celery_workers):
    shop = connector_source(Source.Kind.SHOPIFY, secret=SECRET, name="Shopify")
    celery_workers.start(name="connectors-worker", concurrency=2)
    jobs = [(_order(n), f"d-{n}") for n in range(ORDERS)] * 2  # every delivery twice
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda job: _post(shop, *job), jobs))
    assert statuses == [200] * len(jobs)
    assert WebhookDelivery.objects.filter(source=shop).count() == 2 * ORDERS
    done = _wait_for(
        lambda: not IngestBatch.objects.filter(source=shop, processed_at__isnull=True).exists(), 90
    )
    assert done, "the worker left batches in the inbox"
    assert Event.objects.filter(source=shop, name="Order Completed").count() == ORDERS
    # Ten buyers, each one profile.
    buyers = Profile.objects.filter(merged_into__isnull=True, events__source=shop).distinct()
    assert buyers.count() == 10


def test_stripe_customer_and_its_subscription_meet_on_one_profile_through_the_worker(celery_workers):
    source = connector_source(Source.Kind.STRIPE, secret="whsec_worker", name="Stripe")
    celery_workers.start(name="connectors-stripe")
    client = Client()
    for name in ("stripe_customer_subscription_created.json", "stripe_customer_created.json"):
        body = json.dumps(fixture_json(name)).encode()
        response = client.post(
            f"/v1/webhooks/{source.pk}/stripe",
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature_header("whsec_worker", body),
        )
        assert response.status_code == 200
    assert _wait_for(lambda: Event.objects.filter(source=source).count() == 2, 60)
    assert _wait_for(
        lambda: (
            len(
                {
                    p
                    for p in Event.objects.filter(source=source).values_list(
                        "profile__merged_into", "profile"
                    )
                    for p in [p[0] or p[1]]
                }
            )
            == 1
        ),
        30,
    )
