"""Stripe webhooks: payments, refunds, customers, subscriptions and failed invoices as Segment-spec calls.

Signature: `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` keyed by the endpoint's
signing secret (whsec_...), refused outside a tolerance of the current time (300 s by default, as Stripe's
libraries: https://docs.stripe.com/webhooks#verify-events). Field by field: docs/connectors.md.
"""

import json
import time
import uuid

from pipeline.currencies import minor_units
from profiles.models import Source

from .base import (
    Connector,
    Mapped,
    PayloadRejected,
    SignatureInvalid,
    WebhookRequest,
    call,
    epoch_iso,
    hmac_sha256,
    json_object,
    message_id,
    same,
)

VENDOR = "Stripe"
CUSTOMER_ID = "stripe_customer"
DEFAULT_TOLERANCE = 300
TYPES = {
    "checkout.session.completed": "Order Completed",
    "charge.succeeded": "Order Completed",
    "charge.refunded": "Order Refunded",
    "customer.created": None,
    "customer.subscription.created": "Subscription Started",
    "customer.subscription.updated": "Subscription Changed",
    "customer.subscription.deleted": "Subscription Cancelled",
    "invoice.payment_failed": "Payment Failed",
}


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    at = int(time.time()) if timestamp is None else timestamp
    digest = hmac_sha256(secret, f"{at}.".encode() + body).hex()
    return f"t={at},v1={digest}"


def tolerance(source: Source) -> int:
    value = source.connector_config.get("tolerance_seconds", DEFAULT_TOLERANCE)
    return (
        int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0
        else DEFAULT_TOLERANCE
    )


def verify(source: Source, request: WebhookRequest, *, now: float | None = None) -> None:
    if not source.connector_secret:
        raise SignatureInvalid("no signing secret is configured for this source")
    header = request.header("Stripe-Signature")
    timestamp, signatures = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureInvalid("the Stripe-Signature header has no t= and v1= elements")
    expected = hmac_sha256(source.connector_secret, f"{timestamp}.".encode() + request.body).hex()
    if not any(same(expected, candidate) for candidate in signatures):
        raise SignatureInvalid("no v1 signature in Stripe-Signature matches the body")
    age = (time.time() if now is None else now) - timestamp
    if abs(age) > tolerance(source):
        # A genuine but old request: a replay (Stripe signs every retry afresh with the current time).
        raise SignatureInvalid(
            f"the signature's timestamp is {int(age)} s old, beyond the {tolerance(source)} s tolerance"
        )


def _amount(value, currency: str | None) -> float | None:
    """Stripe amounts are in the currency's minor unit (cents; yen have none)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    units = minor_units(currency.upper()) if isinstance(currency, str) and currency else 2
    return round(value / 10**units, units)


def _customer_id(obj: dict) -> str:
    value = obj.get("customer")
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _person(obj: dict, *, customer_id: str) -> tuple[dict, str, list]:
    details = obj.get("customer_details") or obj.get("billing_details") or {}
    details = details if isinstance(details, dict) else {}
    email = (
        obj.get("customer_email")
        or details.get("email")
        or obj.get("receipt_email")
        or obj.get("email")
        or ""
    )
    traits = {
        "email": email.strip().lower() if isinstance(email, str) else "",
        "name": details.get("name") or obj.get("name") or obj.get("customer_name") or "",
        "phone": details.get("phone") or obj.get("phone") or obj.get("customer_phone") or "",
    }
    external = [(CUSTOMER_ID, customer_id)] if customer_id else []
    key = f"stripe:{customer_id}" if customer_id else traits["email"]
    return traits, key, external


def _plan(subscription: dict) -> dict:
    items = (
        (subscription.get("items") or {}).get("data") if isinstance(subscription.get("items"), dict) else None
    )
    first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
    price = first.get("price") if isinstance(first.get("price"), dict) else subscription.get("plan") or {}
    recurring = price.get("recurring") if isinstance(price.get("recurring"), dict) else {}
    currency = price.get("currency")
    return {
        "plan_id": price.get("id"),
        "product_id": price.get("product") if isinstance(price.get("product"), str) else None,
        "plan_name": price.get("nickname"),
        "amount": _amount(price.get("unit_amount", price.get("amount")), currency),
        "currency": currency.upper() if isinstance(currency, str) else None,
        "interval": recurring.get("interval") or price.get("interval"),
        "quantity": first.get("quantity"),
    }


def _properties(event_type: str, obj: dict, event: dict) -> tuple[dict, str]:
    """(properties, messageId) of the track call; orders are keyed by their PaymentIntent, so a checkout
    session and the charge of the same payment are one Order Completed."""
    currency = obj.get("currency")
    upper = currency.upper() if isinstance(currency, str) else None
    if event_type == "checkout.session.completed":
        totals = obj.get("total_details") if isinstance(obj.get("total_details"), dict) else {}
        order = obj.get("payment_intent") or obj.get("id")
        return {
            "order_id": order,
            "checkout_id": obj.get("id"),
            "total": _amount(obj.get("amount_total"), currency),
            "revenue": _amount(obj.get("amount_subtotal"), currency),
            "discount": _amount(totals.get("amount_discount"), currency),
            "shipping": _amount(totals.get("amount_shipping"), currency),
            "tax": _amount(totals.get("amount_tax"), currency),
            "currency": upper,
            "payment_status": obj.get("payment_status"),
            "mode": obj.get("mode"),
            "subscription_id": obj.get("subscription"),
        }, message_id("stripe-order", order)
    if event_type == "charge.succeeded":
        order = obj.get("payment_intent") or obj.get("id")
        return {
            "order_id": order,
            "charge_id": obj.get("id"),
            "total": _amount(obj.get("amount"), currency),
            "revenue": _amount(obj.get("amount"), currency),
            "currency": upper,
            "invoice_id": obj.get("invoice"),
        }, message_id("stripe-order", order)
    if event_type == "charge.refunded":
        previous = (event.get("data") or {}).get("previous_attributes") or {}
        before = previous.get("amount_refunded", 0) if isinstance(previous, dict) else 0
        refunded = obj.get("amount_refunded") if isinstance(obj.get("amount_refunded"), int) else 0
        delta = refunded - before if isinstance(before, int) and refunded > before else refunded
        return {
            "order_id": obj.get("payment_intent") or obj.get("id"),
            "charge_id": obj.get("id"),
            "total": _amount(delta, currency),
            "refunded_total": _amount(refunded, currency),
            "currency": upper,
        }, message_id("stripe", event.get("id"))
    if event_type.startswith("customer.subscription."):
        return {
            "subscription_id": obj.get("id"),
            "status": obj.get("status"),
            "cancel_at_period_end": obj.get("cancel_at_period_end"),
            "current_period_end": epoch_iso(obj.get("current_period_end")),
            "canceled_at": epoch_iso(obj.get("canceled_at")),
            **_plan(obj),
        }, message_id("stripe", event.get("id"))
    # invoice.payment_failed
    return {
        "invoice_id": obj.get("id"),
        "subscription_id": obj.get("subscription") if isinstance(obj.get("subscription"), str) else None,
        "amount": _amount(obj.get("amount_due"), currency),
        "currency": upper,
        "attempt_count": obj.get("attempt_count"),
        "next_payment_attempt": epoch_iso(obj.get("next_payment_attempt")),
        "billing_reason": obj.get("billing_reason"),
    }, message_id("stripe", event.get("id"))


def map_delivery(source: Source, request: WebhookRequest) -> Mapped:
    event = json_object(request)
    event_type = event.get("type") if isinstance(event.get("type"), str) else ""
    event_id = event.get("id") if isinstance(event.get("id"), str) else ""
    if event_type not in TYPES:
        raise PayloadRejected(
            f"unknown event type {event_type[:60]!r}" if event_type else "the event has no type",
            topic=event_type,
            external_id=event_id,
        )
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    obj = data.get("object") if isinstance(data.get("object"), dict) else None
    if not event_id or obj is None:
        raise PayloadRejected("the event has no id or data.object", topic=event_type, external_id=event_id)
    at = epoch_iso(event.get("created"))
    customer_id = obj.get("id") if event_type == "customer.created" else _customer_id(obj)
    traits, key, external = _person(obj, customer_id=customer_id or "")
    key = key or f"stripe-object:{obj.get('id')}"
    calls = []
    if traits.get("email") or event_type == "customer.created":
        calls.append(
            call(
                kind="identify",
                message_id=message_id("stripe-identify", event_id),
                timestamp=at,
                anonymous_id=key,
                vendor=VENDOR,
                traits={**traits, "stripe_customer_id": customer_id or None},
                external_ids=external,
            )
        )
    name = TYPES[event_type]
    if name:
        properties, track_id = _properties(event_type, obj, event)
        properties["livemode"] = event.get("livemode")
        calls.append(
            call(
                kind="track",
                event=name,
                message_id=track_id,
                timestamp=at,
                anonymous_id=key,
                vendor=VENDOR,
                properties=properties,
                traits=traits,
                external_ids=external,
            )
        )
    return Mapped(topic=event_type, external_id=event_id, calls=calls)


def sample(source: Source) -> WebhookRequest:
    """A signed charge.succeeded for the source page's "send a test event" button."""
    suffix = uuid.uuid4().hex[:14]
    event = {
        "id": f"evt_test_{suffix}",
        "object": "event",
        "type": "charge.succeeded",
        "created": int(time.time()),
        "livemode": False,
        "data": {
            "object": {
                "id": f"ch_test_{suffix}",
                "object": "charge",
                "amount": 2500,
                "currency": "eur",
                "customer": "cus_test",
                "payment_intent": f"pi_test_{suffix}",
                "billing_details": {"email": "test.customer@example.com", "name": "Test Customer"},
            }
        },
    }
    body = json.dumps(event).encode()
    return WebhookRequest(
        body=body, headers={"stripe-signature": signature_header(source.connector_secret, body)}
    )


CONNECTOR = Connector(
    kind=Source.Kind.STRIPE,
    label=VENDOR,
    # Stripe documents no maximum; an event object is a few KB (cdpcrm's limit).
    max_bytes=1024 * 1024,
    verify=verify,
    map=map_delivery,
    sample=sample,
    docs_url="https://docs.stripe.com/webhooks",
    secret_from_vendor=True,
    paste_label="Signing secret of the endpoint (whsec_...)",
    setup="In the Stripe Dashboard (Developers > Webhooks > Add endpoint), enter {url}, select the events "
    "checkout.session.completed, charge.succeeded, charge.refunded, customer.created, "
    "customer.subscription.created, customer.subscription.updated, customer.subscription.deleted and "
    "invoice.payment_failed, then reveal the endpoint's signing secret and paste it here.",
)
