"""SendGrid's Event Webhook: batches of delivery and engagement events as Segment e-mail events.

Signed Event Webhook: X-Twilio-Email-Event-Webhook-Signature is a base64 ECDSA (P-256, SHA-256) signature of
X-Twilio-Email-Event-Webhook-Timestamp + the raw body, checked with the verification key SendGrid shows
(https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features).
Field by field: docs/connectors.md.
"""

import base64
import binascii
import hashlib
import json
import time
import uuid

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from profiles.models import Source

from .base import (
    Connector,
    Mapped,
    PayloadRejected,
    SignatureInvalid,
    WebhookRequest,
    call,
    epoch_iso,
    json_body,
    message_id,
)

VENDOR = "SendGrid"
SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
# SendGrid retries a failed POST for up to 24 hours; a replay inside the window stores nothing new anyway
# (events are keyed by sg_event_id).
DEFAULT_TOLERANCE = 25 * 3600
EVENTS = {
    "processed": "Email Processed",
    "delivered": "Email Delivered",
    "open": "Email Opened",
    "click": "Email Link Clicked",
    "bounce": "Email Bounced",
    "dropped": "Email Dropped",
    "spamreport": "Email Marked as Spam",
    "unsubscribe": "Unsubscribed",
    "group_unsubscribe": "Unsubscribed",
}


def public_key(text: str) -> ec.EllipticCurvePublicKey:
    """The verification key as SendGrid shows it (base64 DER), or as PEM."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=False))
    except (ValueError, binascii.Error, TypeError):
        raise SignatureInvalid("the configured verification key is not an ECDSA public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise SignatureInvalid("the configured verification key is not an ECDSA public key")
    return key


def tolerance(source: Source) -> int:
    value = source.connector_config.get("tolerance_seconds", DEFAULT_TOLERANCE)
    return (
        int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0
        else DEFAULT_TOLERANCE
    )


def verify(source: Source, request: WebhookRequest) -> None:
    if not source.connector_secret:
        raise SignatureInvalid("no verification key is configured for this source")
    key = public_key(source.connector_secret)
    signature, timestamp = request.header(SIGNATURE).strip(), request.header(TIMESTAMP).strip()
    if not signature or not timestamp:
        raise SignatureInvalid(f"the {SIGNATURE} and {TIMESTAMP} headers are required")
    try:
        key.verify(base64.b64decode(signature), timestamp.encode() + request.body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        raise SignatureInvalid(f"{SIGNATURE} does not match the body") from None
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance(source):
        raise SignatureInvalid(f"the signature's timestamp is outside the {tolerance(source)} s tolerance")


def _event_call(item: dict) -> dict:
    kind = item["event"]
    email = item["email"].strip().lower()
    sg_id = item.get("sg_event_id")
    if not isinstance(sg_id, str) or not sg_id:
        sg_id = hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()[:40]
    properties = {
        "email_id": item.get("sg_message_id"),
        "email_address": email,
        "category": item.get("category"),
        "campaign_id": item.get("marketing_campaign_id") or item.get("singlesend_id"),
        "campaign_name": item.get("marketing_campaign_name"),
        "smtp_id": item.get("smtp-id"),
    }
    if kind == "click":
        properties["link_url"] = item.get("url")
    if kind in ("bounce", "dropped"):
        properties.update(
            reason=item.get("reason"), status=item.get("status"), bounce_type=item.get("type") or kind
        )
    if kind == "group_unsubscribe":
        properties["group_id"] = item.get("asm_group_id")
    if kind == "open":
        properties["machine_open"] = item.get("sg_machine_open")
    context = {}
    if isinstance(item.get("ip"), str) and item["ip"]:
        context["ip"] = item["ip"]
    if isinstance(item.get("useragent"), str) and item["useragent"]:
        context["userAgent"] = item["useragent"][:512]
    return call(
        kind="track",
        event=EVENTS[kind],
        message_id=message_id("sendgrid", sg_id),
        timestamp=epoch_iso(item.get("timestamp")),
        anonymous_id=email,  # known only by e-mail: resolution links the address to the person
        vendor=VENDOR,
        properties=properties,
        traits={"email": email},
        context=context,
    )


def map_delivery(source: Source, request: WebhookRequest) -> Mapped:
    body = json_body(request)
    if not isinstance(body, list):
        raise PayloadRejected("the body must be a JSON array of events")
    calls, skipped = [], {}
    for item in body:
        kind = item.get("event") if isinstance(item, dict) else None
        if kind not in EVENTS or not isinstance(item.get("email"), str) or "@" not in item["email"]:
            label = kind if isinstance(kind, str) and kind not in EVENTS else "without event or email"
            skipped[label[:40]] = skipped.get(label[:40], 0) + 1
            continue
        calls.append(_event_call(item))
    note = ", ".join(f"{count} {label}" for label, count in sorted(skipped.items()))
    topics = sorted({call_["event"] for call_ in calls})
    if not calls:
        raise PayloadRejected(f"no event of a known type in the batch ({note or 'empty'})", topic="batch")
    mapped = Mapped(topic=", ".join(topics)[:100], external_id="", calls=calls)
    if note:
        mapped.note = f"skipped: {note}"
    return mapped


def sample(source: Source) -> WebhookRequest:
    """A batch with one `delivered` event for the source page's button (which skips the signature check:
    only SendGrid holds the private key; its "Test Your Integration" button sends a signed batch)."""
    batch = [
        {
            "email": "test.customer@example.com",
            "timestamp": int(time.time()),
            "event": "delivered",
            "sg_event_id": f"test-{uuid.uuid4().hex}",
            "sg_message_id": "test.filter0001.16648.5515E0B88.0",
            "response": "250 OK",
        }
    ]
    return WebhookRequest(body=json.dumps(batch).encode(), headers={})


CONNECTOR = Connector(
    kind=Source.Kind.SENDGRID,
    label=VENDOR,
    # cdpcrm's limit per POST; SendGrid sends events in batches of a few hundred KB.
    max_bytes=5 * 1024 * 1024,
    verify=verify,
    map=map_delivery,
    sample=sample,
    docs_url="https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event",
    secret_from_vendor=True,
    paste_label="Verification key (Settings > Mail Settings > Event Webhook > Signature Verification)",
    setup="In SendGrid (Settings > Mail Settings > Event Webhooks), set the Post URL to {url}, tick the events "
    "(processed, delivered, open, click, bounce, dropped, spam report, unsubscribe, group unsubscribe), enable "
    "Signed Event Webhook Requests and paste the verification key here.",
)
