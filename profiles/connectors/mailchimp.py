"""Mailchimp audience webhooks (form-encoded): subscribes, unsubscribes, profile and address changes, cleaned.

Mailchimp signs nothing: the secret is part of the URL it is given (?secret=...), as Mailchimp advises
(https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/). Field by field:
docs/connectors.md.
"""

import hashlib
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from profiles.models import Source

from .base import Connector, Mapped, PayloadRejected, SignatureInvalid, WebhookRequest, call, message_id, same

VENDOR = "Mailchimp"
TYPES = ("subscribe", "unsubscribe", "profile", "upemail", "cleaned")
MEMBER_ID = "mailchimp_member"


def verify(source: Source, request: WebhookRequest) -> None:
    if not source.connector_secret or not same(source.connector_secret, request.query.get("secret", "")):
        raise SignatureInvalid("the secret in the URL does not match")


def _form(request: WebhookRequest) -> dict[str, str]:
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadRejected("the body is not UTF-8 form data") from None
    pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=500)
    return dict(pairs)


def _fired_at(value: str) -> str | None:
    """Mailchimp's "2009-03-26 21:35:57" (UTC)."""
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).isoformat()
    except (ValueError, AttributeError):
        return None


def map_delivery(source: Source, request: WebhookRequest) -> Mapped:
    try:
        form = _form(request)
    except ValueError as exc:
        raise PayloadRejected(f"the form data cannot be read: {exc}") from None
    kind = form.get("type", "")
    if kind not in TYPES:
        raise PayloadRejected(
            f"unknown type {kind[:60]!r}" if kind else "no type in the form data", topic=kind
        )
    data = {key[5:-1].replace("][", "."): value for key, value in form.items() if key.startswith("data[")}
    email = (data.get("new_email") if kind == "upemail" else data.get("email")) or ""
    email = email.strip().lower()
    if "@" not in email:
        raise PayloadRejected("the form data has no e-mail address", topic=kind)
    at = _fired_at(form.get("fired_at", ""))
    stamp = hashlib.sha256(
        "|".join([kind, form.get("fired_at", ""), email, data.get("list_id", "")]).encode()
    ).hexdigest()[:32]
    key = (data.get("old_email") or email).strip().lower() if kind == "upemail" else email
    member = data.get("new_id") if kind == "upemail" else data.get("id")
    external = [(MEMBER_ID, member)] if member else []
    traits = {
        "email": email,
        "firstName": data.get("merges.FNAME"),
        "lastName": data.get("merges.LNAME"),
        "phone": data.get("merges.PHONE"),
        "mailchimp_list_id": data.get("list_id"),
    }
    traits["name"] = " ".join(part for part in (traits["firstName"], traits["lastName"]) if part) or None
    properties = {"list_id": data.get("list_id"), "email_address": email}
    calls = []
    if kind in ("subscribe", "profile", "upemail"):
        if kind == "subscribe":
            traits["email_subscribed"] = True
        calls.append(
            call(
                kind="identify",
                message_id=message_id("mailchimp", stamp, "identify"),
                timestamp=at,
                anonymous_id=key,
                vendor=VENDOR,
                traits=traits,
                external_ids=external,
            )
        )
    if kind == "subscribe":
        event = "Subscribed"
    elif kind == "unsubscribe":
        event = "Unsubscribed"
        properties.update(
            reason=data.get("reason"), action=data.get("action"), campaign_id=data.get("campaign_id")
        )
    elif kind == "cleaned":
        event = "Email Bounced"
        properties.update(
            reason=data.get("reason"), campaign_id=data.get("campaign_id"), bounce_type="cleaned"
        )
    elif kind == "upemail":
        event = ""
    else:
        event = ""
    if event:
        calls.append(
            call(
                kind="track",
                event=event,
                message_id=message_id("mailchimp", stamp),
                timestamp=at,
                anonymous_id=key,
                vendor=VENDOR,
                properties=properties,
                traits={"email": email},
                external_ids=external,
            )
        )
    return Mapped(topic=kind, external_id=stamp, calls=calls)


def sample(source: Source) -> WebhookRequest:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    body = (
        f"type=subscribe&fired_at={now.replace(' ', '+')}&data%5Bid%5D=test&data%5Blist_id%5D=test"
        "&data%5Bemail%5D=test.customer%40example.com&data%5Bemail_type%5D=html"
        "&data%5Bmerges%5D%5BFNAME%5D=Test&data%5Bmerges%5D%5BLNAME%5D=Customer"
    ).encode()
    return WebhookRequest(
        body=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
        query={"secret": source.connector_secret},
    )


CONNECTOR = Connector(
    kind=Source.Kind.MAILCHIMP,
    label=VENDOR,
    max_bytes=256 * 1024,  # one member's change; cdpcrm's limit
    verify=verify,
    map=map_delivery,
    sample=sample,
    docs_url="https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/",
    secret_from_vendor=False,
    url_with_secret=True,
    setup="In Mailchimp (Audience > Manage Audience > Settings > Webhooks > Create New Webhook), paste {url} as the "
    "callback URL (the secret is part of it) and tick subscribes, unsubscribes, profile updates, cleaned "
    "addresses and email changed.",
)
