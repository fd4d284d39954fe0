"""Shopify webhooks: orders, refunds, checkouts and customers as Segment e-commerce events and identify calls.

Signature: base64 HMAC-SHA256 of the raw body keyed by the app's client secret, in X-Shopify-Hmac-Sha256
(https://shopify.dev/docs/apps/build/webhooks/verify-deliveries). Field by field: docs/connectors.md.
"""

import base64
import json
import uuid
from datetime import UTC, datetime

from django.utils import timezone

from profiles.ingest.normalize import parse_time
from profiles.models import Source

from .base import (
    Connector,
    Mapped,
    PayloadRejected,
    SignatureInvalid,
    WebhookRequest,
    call,
    hmac_sha256,
    json_object,
    message_id,
    money,
    same,
)

VENDOR = "Shopify"
CUSTOMER_ID = "shopify_customer"
ORDER_ID = "shopify_order"
TOPICS = (
    "orders/create",
    "orders/paid",
    "refunds/create",
    "checkouts/create",
    "checkouts/update",
    "customers/create",
    "customers/update",
)


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac_sha256(secret, body)).decode()


def verify(source: Source, request: WebhookRequest) -> None:
    given = request.header("X-Shopify-Hmac-Sha256").strip()
    if not source.connector_secret:
        raise SignatureInvalid("no signing secret is configured for this source")
    if not given or not same(signature(source.connector_secret, request.body), given):
        raise SignatureInvalid("X-Shopify-Hmac-Sha256 does not match the body")


def _time(value) -> str | None:
    try:
        parsed = parse_time(value, "time") if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed.isoformat() if parsed else None


def _person(payload: dict, *, customer: dict | None = None) -> tuple[dict, str, list[tuple[str, str]]]:
    """(traits, anonymousId, external ids) of an order's, checkout's or customer's buyer."""
    if customer is None:
        customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    email = customer.get("email") or payload.get("email") or payload.get("contact_email") or ""
    phone = customer.get("phone") or payload.get("phone") or ""
    first, last = customer.get("first_name") or "", customer.get("last_name") or ""
    traits = {
        "email": email.strip().lower() if isinstance(email, str) else "",
        "phone": phone if isinstance(phone, str) else "",
        "firstName": first,
        "lastName": last,
        "name": f"{first} {last}".strip(),
    }
    customer_id = customer.get("id")
    external = [(CUSTOMER_ID, str(customer_id))] if customer_id else []
    key = f"shopify:{customer_id}" if customer_id else traits["email"] or ""
    return traits, key, external


def _products(items) -> list[dict]:
    products = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        product = {
            "product_id": str(item.get("product_id") or ""),
            "variant": str(item.get("variant_id") or ""),
            "sku": item.get("sku") or "",
            "name": item.get("title") or item.get("name") or "",
            "brand": item.get("vendor") or "",
            "price": money(item.get("price")),
            "quantity": item.get("quantity") if isinstance(item.get("quantity"), int) else 1,
        }
        products.append({k: v for k, v in product.items() if v not in ("", None)})
    return products


def _shipping(order: dict) -> float | None:
    shipping_set = order.get("total_shipping_price_set")
    if isinstance(shipping_set, dict) and isinstance(shipping_set.get("shop_money"), dict):
        return money(shipping_set["shop_money"].get("amount"))
    lines = order.get("shipping_lines")
    if isinstance(lines, list):
        return sum(money(line.get("price")) or 0 for line in lines if isinstance(line, dict))
    return None


def _identify(traits: dict, key: str, external: list, *, stamp: str, at: str | None) -> list[dict]:
    if not external and not traits.get("email"):
        return []
    return [
        call(
            kind="identify",
            message_id=message_id("shopify-identify", key, stamp),
            timestamp=at,
            anonymous_id=key,
            vendor=VENDOR,
            traits=traits,
            external_ids=external,
        )
    ]


def _order(order: dict, topic: str) -> Mapped:
    order_id = order.get("id")
    if not order_id:
        raise PayloadRejected("the order has no id", topic=topic)
    traits, key, external = _person(order)
    key = key or f"shopify-order:{order_id}"
    at = _time(order.get("processed_at") or order.get("created_at"))
    codes = order.get("discount_codes") if isinstance(order.get("discount_codes"), list) else []
    properties = {
        "order_id": str(order_id),
        "order_number": order.get("name") or order.get("order_number"),
        "checkout_id": str(order.get("checkout_token") or order.get("checkout_id") or "") or None,
        "total": money(order.get("total_price")),
        "revenue": money(order.get("subtotal_price")),
        "tax": money(order.get("total_tax")),
        "discount": money(order.get("total_discounts")),
        "shipping": _shipping(order),
        "coupon": ",".join(str(c.get("code")) for c in codes if isinstance(c, dict) and c.get("code"))
        or None,
        "currency": order.get("currency"),
        "financial_status": order.get("financial_status"),
        "products": _products(order.get("line_items")),
    }
    external = [*external, (ORDER_ID, str(order_id))]
    calls = [
        *_identify(traits, key, external[:-1], stamp=(order.get("customer") or {}).get("updated_at"), at=at),
        call(
            kind="track",
            event="Order Completed",
            # orders/create and orders/paid of one order are one Order Completed, whichever comes first.
            message_id=message_id("shopify-order", order_id),
            timestamp=at,
            anonymous_id=key,
            vendor=VENDOR,
            properties=properties,
            traits=traits,
            external_ids=external,
        ),
    ]
    mapped = Mapped(topic=topic, external_id="", calls=calls)
    token = order.get("checkout_token")
    if token:
        mapped.checkouts.append((str(token), {}, timezone.now(), True))
    return mapped


def _refund(refund: dict, topic: str) -> Mapped:
    refund_id, order_id = refund.get("id"), refund.get("order_id")
    if not refund_id or not order_id:
        raise PayloadRejected("the refund has no id or order_id", topic=topic)
    transactions = refund.get("transactions") if isinstance(refund.get("transactions"), list) else []
    refunded = [t for t in transactions if isinstance(t, dict) and t.get("kind") == "refund"]
    total = sum(money(t.get("amount")) or 0 for t in refunded if t.get("status") in (None, "success"))
    lines = refund.get("refund_line_items") if isinstance(refund.get("refund_line_items"), list) else []
    products = _products(
        [
            {**(line.get("line_item") or {}), "quantity": line.get("quantity")}
            for line in lines
            if isinstance(line, dict)
        ]
    )
    currency = next((t.get("currency") for t in refunded if t.get("currency")), None)
    properties = {
        "order_id": str(order_id),
        "refund_id": str(refund_id),
        "total": round(total, 2),
        "currency": currency,
        "note": refund.get("note") or None,
        "products": products,
    }
    # A refund names only its order: the order's id (an external id of Order Completed) finds the buyer.
    call_ = call(
        kind="track",
        event="Order Refunded",
        message_id=message_id("shopify-refund", refund_id),
        timestamp=_time(refund.get("processed_at") or refund.get("created_at")),
        anonymous_id=f"shopify-order:{order_id}",
        vendor=VENDOR,
        properties=properties,
        external_ids=[(ORDER_ID, str(order_id))],
    )
    return Mapped(topic=topic, external_id="", calls=[call_])


def _checkout(checkout: dict, topic: str) -> Mapped:
    token = checkout.get("token") or checkout.get("id")
    if not token:
        raise PayloadRejected("the checkout has no token", topic=topic)
    traits, key, external = _person(checkout)
    key = key or f"shopify-checkout:{token}"
    at = _time(checkout.get("created_at"))
    properties = {
        "checkout_id": str(token),
        "value": money(checkout.get("total_price")),
        "revenue": money(checkout.get("subtotal_price")),
        "tax": money(checkout.get("total_tax")),
        "currency": checkout.get("currency") or checkout.get("presentment_currency"),
        "products": _products(checkout.get("line_items")),
        "checkout_url": checkout.get("abandoned_checkout_url"),
    }
    started = call(
        kind="track",
        event="Checkout Started",
        # checkouts/update of a started checkout adds no second Checkout Started.
        message_id=message_id("shopify-checkout", token),
        timestamp=at,
        anonymous_id=key,
        vendor=VENDOR,
        properties=properties,
        traits=traits,
        external_ids=external,
    )
    updated = (
        parse_time(checkout.get("updated_at"), "updated_at")
        if isinstance(checkout.get("updated_at"), str)
        else None
    )
    calls = [*_identify(traits, key, external, stamp=checkout.get("updated_at"), at=at), started]
    mapped = Mapped(topic=topic, external_id="", calls=calls)
    completed = bool(checkout.get("completed_at"))
    mapped.checkouts.append((str(token), started, updated or timezone.now(), completed))
    return mapped


def _customer(customer: dict, topic: str) -> Mapped:
    if not customer.get("id"):
        raise PayloadRejected("the customer has no id", topic=topic)
    traits, key, external = _person(customer, customer=customer)
    consent = customer.get("email_marketing_consent")
    if isinstance(consent, dict) and consent.get("state"):
        traits["email_marketing_consent"] = consent["state"]
    traits["shopify_tags"] = customer.get("tags") or None
    at = _time(customer.get("updated_at") or customer.get("created_at"))
    calls = _identify(traits, key, external, stamp=customer.get("updated_at") or topic, at=at)
    return Mapped(topic=topic, external_id="", calls=calls)


def map_delivery(source: Source, request: WebhookRequest) -> Mapped:
    topic = request.header("X-Shopify-Topic").strip()
    delivery = request.header("X-Shopify-Webhook-Id") or request.header("X-Shopify-Event-Id")
    if topic not in TOPICS:
        raise PayloadRejected(
            f"unknown topic {topic[:60]!r}" if topic else "no X-Shopify-Topic header",
            topic=topic,
            external_id=delivery,
        )
    payload = json_object(request, topic=topic)
    try:
        if topic.startswith("orders/"):
            mapped = _order(payload, topic)
        elif topic == "refunds/create":
            mapped = _refund(payload, topic)
        elif topic.startswith("checkouts/"):
            mapped = _checkout(payload, topic)
        else:
            mapped = _customer(payload, topic)
    except PayloadRejected as exc:
        exc.external_id = delivery
        raise
    mapped.external_id = delivery
    return mapped


def sample(source: Source) -> WebhookRequest:
    """A signed orders/create for the source page's "send a test event" button."""
    order_id = uuid.uuid4().int % 10**12
    order = {
        "id": order_id,
        "name": f"#TEST-{order_id % 10000}",
        "email": "test.customer@example.com",
        "created_at": datetime.now(UTC).isoformat(),
        "currency": "EUR",
        "total_price": "59.00",
        "subtotal_price": "59.00",
        "total_tax": "0.00",
        "financial_status": "paid",
        "test": True,
        "customer": {
            "id": 1,
            "email": "test.customer@example.com",
            "first_name": "Test",
            "last_name": "Customer",
        },
        "line_items": [
            {"product_id": 1, "sku": "TEST-SKU", "title": "Test product", "price": "59.00", "quantity": 1}
        ],
    }
    body = json.dumps(order).encode()
    headers = {
        "x-shopify-topic": "orders/create",
        "x-shopify-webhook-id": f"test-{uuid.uuid4()}",
        "x-shopify-hmac-sha256": signature(source.connector_secret, body),
    }
    return WebhookRequest(body=body, headers=headers)


CONNECTOR = Connector(
    kind=Source.Kind.SHOPIFY,
    label=VENDOR,
    max_bytes=2 * 1024 * 1024,
    verify=verify,
    map=map_delivery,
    sample=sample,
    docs_url="https://shopify.dev/docs/apps/build/webhooks",
    secret_from_vendor=True,
    paste_label="Client secret (or the webhook signing key under Settings > Notifications > Webhooks)",
    setup="In Shopify (Settings > Notifications > Webhooks, or your app's webhook subscriptions), create a JSON "
    "webhook for each topic (orders/create, orders/paid, refunds/create, checkouts/create, checkouts/update, "
    "customers/create, customers/update) pointing at {url}, then paste the signing secret here.",
)
