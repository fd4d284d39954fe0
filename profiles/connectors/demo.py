"""Demo connectors: a Shopify store, Stripe and SendGrid whose signed webhooks reach the demo contacts.

Every delivery is built like the vendor's, signed with the source's secret (random, as if pasted from the
vendor; SendGrid's with a key pair made for the demo, of which only the public half is kept) and sent through `webhook_receive`, the service behind the
webhook URL, so it is verified, mapped, stored in the inbox and processed as live traffic. Skipped for a
source that already has deliveries: running the demo again adds nothing.
"""

import base64
import json
import random
import secrets
import time
from datetime import timedelta

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from contacts.models import Contact
from profiles.models import Source
from profiles.sources.services import source_create

from . import shopify, stripe
from .base import WebhookRequest
from .models import WebhookDelivery
from .services import carts_abandon, connector_secret_set, webhook_receive

SEED = 16
CONTACTS = 60
PRODUCTS = (
    ("SKU-1001", "Linen shirt", "59.00"),
    ("SKU-1002", "Chelsea boots", "149.00"),
    ("SKU-1004", "Running sneakers", "99.00"),
    ("SKU-1005", "Silk scarf", "45.00"),
)


def _source(name: str, kind: str, stdout, **config) -> tuple[Source, bool]:
    source = Source.objects.filter(name=name).first()
    if source is None:
        source, _ = source_create(name=name, kind=kind)
        source.connector_config = config
        source.save(update_fields=["connector_config"])
        stdout.write(f"connectors: source {name!r} created\n")
    return source, not WebhookDelivery.objects.filter(source=source).exists()


def _shopify(source: Source, contacts: list[Contact], rng: random.Random, now) -> None:
    def send(topic: str, payload: dict, delivery: str) -> None:
        body = json.dumps(payload).encode()
        headers = {
            "x-shopify-topic": topic,
            "x-shopify-webhook-id": delivery,
            "x-shopify-hmac-sha256": shopify.signature(source.connector_secret, body),
        }
        webhook_receive(source=source, request=WebhookRequest(body=body, headers=headers))

    for n, contact in enumerate(contacts[:40]):
        customer = {
            "id": 7_000_000 + contact.pk,
            "email": contact.email,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "phone": None,
            "updated_at": (now - timedelta(days=60)).isoformat(),
        }
        send(
            "customers/create", {**customer, "created_at": customer["updated_at"], "tags": ""}, f"demo-c-{n}"
        )
        sku, title, price = PRODUCTS[n % len(PRODUCTS)]
        quantity = 1 + n % 2
        at = now - timedelta(days=rng.randint(1, 45), hours=rng.randint(0, 23))
        total = f"{float(price) * quantity:.2f}"
        order = {
            "id": 4_000_000 + n,
            "name": f"#M{1000 + n}",
            "email": contact.email,
            "created_at": at.isoformat(),
            "processed_at": at.isoformat(),
            "currency": "EUR",
            "total_price": total,
            "subtotal_price": total,
            "total_tax": "0.00",
            "financial_status": "paid",
            "checkout_token": f"demo-checkout-{n}",
            "customer": customer,
            "line_items": [
                {"product_id": 100 + n % 4, "sku": sku, "title": title, "price": price, "quantity": quantity}
            ],
        }
        send("orders/create", order, f"demo-o-{n}")
        if n % 9 == 4:
            refund = {
                "id": 3_000_000 + n,
                "order_id": order["id"],
                "created_at": (at + timedelta(days=3)).isoformat(),
                "processed_at": (at + timedelta(days=3)).isoformat(),
                "refund_line_items": [{"quantity": 1, "line_item": order["line_items"][0]}],
                "transactions": [{"kind": "refund", "status": "success", "amount": price, "currency": "EUR"}],
            }
            send("refunds/create", refund, f"demo-r-{n}")
    for n, contact in enumerate(contacts[40:48]):  # started a checkout and never paid: Cart Abandoned
        at = now - timedelta(hours=3 + n)
        sku, title, price = PRODUCTS[n % len(PRODUCTS)]
        checkout = {
            "id": 6_000_000 + n,
            "token": f"demo-abandoned-{n}",
            "email": contact.email,
            "created_at": at.isoformat(),
            "updated_at": at.isoformat(),
            "completed_at": None,
            "currency": "EUR",
            "total_price": price,
            "subtotal_price": price,
            "abandoned_checkout_url": f"https://modish.example/checkouts/demo-abandoned-{n}/recover",
            "line_items": [
                {"product_id": 200 + n, "sku": sku, "title": title, "price": price, "quantity": 1}
            ],
        }
        send("checkouts/create", checkout, f"demo-k-{n}")
    carts_abandon(now=now)


def _stripe(source: Source, contacts: list[Contact], rng: random.Random, now) -> None:
    def send(event_type: str, obj: dict, n: int, at) -> None:
        event = {
            "id": f"evt_demo_{event_type.replace('.', '_')}_{n}",
            "object": "event",
            "type": event_type,
            "created": int(at.timestamp()),
            "livemode": False,
            "data": {"object": obj},
        }
        body = json.dumps(event).encode()
        # Signed now (a delivery's signature is as fresh as its POST); the event keeps its own time.
        headers = {
            "stripe-signature": stripe.signature_header(
                source.connector_secret, body, timestamp=int(time.time())
            )
        }
        webhook_receive(source=source, request=WebhookRequest(body=body, headers=headers))

    for n, contact in enumerate(contacts[10:25]):
        customer_id = f"cus_demo{contact.pk}"
        at = now - timedelta(days=rng.randint(20, 50))
        send(
            "customer.created",
            {
                "id": customer_id,
                "object": "customer",
                "email": contact.email,
                "name": f"{contact.first_name} {contact.last_name}",
            },
            n,
            at,
        )
        price = {
            "id": "price_demo_club",
            "currency": "eur",
            "nickname": "Modish Club (monthly)",
            "unit_amount": 900,
            "product": "prod_demo_club",
            "recurring": {"interval": "month"},
        }
        subscription = {
            "id": f"sub_demo{n}",
            "object": "subscription",
            "customer": customer_id,
            "status": "active",
            "items": {"data": [{"price": price, "quantity": 1}]},
        }
        send("customer.subscription.created", subscription, n, at + timedelta(minutes=2))
        if n % 5 == 2:
            invoice = {
                "id": f"in_demo{n}",
                "object": "invoice",
                "customer": customer_id,
                "customer_email": contact.email,
                "amount_due": 900,
                "currency": "eur",
                "attempt_count": 1,
                "subscription": subscription["id"],
                "billing_reason": "subscription_cycle",
            }
            send("invoice.payment_failed", invoice, n, now - timedelta(days=2))
        if n % 7 == 3:
            send(
                "customer.subscription.deleted",
                {**subscription, "status": "canceled"},
                n,
                now - timedelta(days=1),
            )


def _sendgrid(source: Source, contacts: list[Contact], rng: random.Random, now, key) -> None:
    events = []
    for n, contact in enumerate(contacts):
        at = int((now - timedelta(days=rng.randint(1, 30), minutes=rng.randint(0, 600))).timestamp())
        common = {
            "email": contact.email,
            "sg_message_id": f"demo-{n}.filter0001",
            "category": "spring-sale",
            "marketing_campaign_name": "Spring sale",
        }
        events.append({**common, "event": "delivered", "timestamp": at, "sg_event_id": f"demo-d-{n}"})
        if n % 3 != 2:
            events.append({**common, "event": "open", "timestamp": at + 600, "sg_event_id": f"demo-o-{n}"})
        if n % 4 == 0:
            events.append(
                {
                    **common,
                    "event": "click",
                    "timestamp": at + 700,
                    "sg_event_id": f"demo-c-{n}",
                    "url": "https://modish.example/spring-sale?utm_source=newsletter&utm_medium=email",
                }
            )
        if n % 17 == 5:
            events.append(
                {
                    **common,
                    "event": "bounce",
                    "timestamp": at + 5,
                    "sg_event_id": f"demo-b-{n}",
                    "type": "bounce",
                    "reason": "550 5.1.1 mailbox unavailable",
                    "status": "5.1.1",
                }
            )
        if n % 23 == 7:
            events.append(
                {**common, "event": "unsubscribe", "timestamp": at + 900, "sg_event_id": f"demo-u-{n}"}
            )
    body = json.dumps(events).encode()
    timestamp = str(int(time.time()))
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    headers = {
        "x-twilio-email-event-webhook-signature": base64.b64encode(signature).decode(),
        "x-twilio-email-event-webhook-timestamp": timestamp,
    }
    webhook_receive(source=source, request=WebhookRequest(body=body, headers=headers))


def demo_load(*, users: dict, stdout) -> None:
    contacts = list(Contact.objects.exclude(email="").order_by("pk")[:CONTACTS])
    now = timezone.now().replace(microsecond=0)
    rng = random.Random(SEED)
    shop, fresh = _source(
        "Shopify store", Source.Kind.SHOPIFY, stdout, loyalty_points_per_unit=1, abandon_after_minutes=60
    )
    if fresh:
        connector_secret_set(source=shop, secret=secrets.token_urlsafe(24))  # as if pasted from Shopify
        _shopify(shop, contacts, rng, now)
    payments, fresh = _source("Stripe payments", Source.Kind.STRIPE, stdout)
    if fresh:
        connector_secret_set(source=payments, secret="whsec_" + secrets.token_urlsafe(24))
        _stripe(payments, contacts, rng, now)
    mail, fresh = _source("SendGrid", Source.Kind.SENDGRID, stdout)
    if fresh:
        key = ec.generate_private_key(ec.SECP256R1())
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        connector_secret_set(source=mail, secret=base64.b64encode(public).decode())
        _sendgrid(mail, contacts, rng, now, key)
    deliveries = WebhookDelivery.objects.filter(source__in=[shop, payments, mail]).count()
    stdout.write(f"connectors: Shopify, Stripe and SendGrid sources, {deliveries} webhook deliveries\n")
