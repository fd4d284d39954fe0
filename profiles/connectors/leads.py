"""Ad lead forms: the Google Ads lead form webhook and a generic lead webhook with a configured field mapping.

Both become an identify call with the person's details and a Lead Captured event with the campaign in
`context.campaign`. Google puts the secret (the "key" set on the form) in the body as `google_key`
(https://developers.google.com/google-ads/webhook/docs/implementation); the generic webhook takes the secret
in `X-Webhook-Secret` or `?secret=`, or an `X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the body>`.
Field by field: docs/connectors.md.
"""

import hashlib
import json
import uuid
from datetime import UTC, datetime

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
    json_body,
    message_id,
    same,
)

GOOGLE = "Google Ads"
LEAD_ID = "lead_id"
GOOGLE_COLUMNS = {
    "FULL_NAME": "name",
    "FIRST_NAME": "firstName",
    "LAST_NAME": "lastName",
    "EMAIL": "email",
    "WORK_EMAIL": "email",
    "PHONE_NUMBER": "phone",
    "WORK_PHONE": "phone",
    "COMPANY_NAME": "company",
    "JOB_TITLE": "title",
    "POSTAL_CODE": "address.postalCode",
    "STREET_ADDRESS": "address.street",
    "CITY": "address.city",
    "REGION": "address.state",
    "COUNTRY": "address.country",
}
# Generic webhook: trait or campaign field -> where it is in the posted JSON (dotted path); the defaults
# read flat forms that use these names. An admin overrides them in the source's `field_map`.
DEFAULT_FIELD_MAP = {
    "email": "email",
    "phone": "phone",
    "firstName": "first_name",
    "lastName": "last_name",
    "name": "full_name",
    "company": "company",
    "title": "job_title",
    "lead_id": "lead_id",
    "campaign.name": "utm_campaign",
    "campaign.source": "utm_source",
    "campaign.medium": "utm_medium",
    "campaign.term": "utm_term",
    "campaign.content": "utm_content",
    "campaign.id": "campaign_id",
}


def _iso(value) -> str | None:
    try:
        parsed = parse_time(value, "lead_submit_time") if isinstance(value, str) and value else None
    except ValueError:
        return None
    return parsed.isoformat() if parsed else None


def _lead_calls(
    *, vendor: str, lead_id: str, traits: dict, properties: dict, campaign: dict, at: str | None
) -> list[dict]:
    email = traits.get("email")
    if isinstance(email, str):
        traits["email"] = email.strip().lower()
    key = traits.get("email") or f"lead:{vendor}:{lead_id}"
    common = {"timestamp": at, "anonymous_id": key, "vendor": vendor, "external_ids": [(LEAD_ID, lead_id)]}
    identify = call(
        kind="identify",
        message_id=message_id("lead-identify", vendor, lead_id),
        traits=traits,
        campaign=campaign,
        **common,
    )
    captured = call(
        kind="track",
        event="Lead Captured",
        message_id=message_id("lead", vendor, lead_id),
        properties=properties,
        traits=traits,
        campaign=campaign,
        **common,
    )
    return [identify, captured]


def _set(traits: dict, path: str, value) -> None:
    if value in (None, ""):
        return
    if path.startswith("address."):
        traits.setdefault("address", {})[path[8:]] = value
    else:
        traits[path] = value


# --- Google Ads ---------------------------------------------------------------------------------------------


def google_verify(source: Source, request: WebhookRequest) -> None:
    if not source.connector_secret:
        raise SignatureInvalid("no key is configured for this source")
    try:
        body = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SignatureInvalid("the body is not JSON, so its google_key cannot be checked") from None
    key = body.get("google_key") if isinstance(body, dict) else None
    if not isinstance(key, str) or not same(source.connector_secret, key):
        raise SignatureInvalid("google_key does not match the key set on the lead form")


def google_map(source: Source, request: WebhookRequest) -> Mapped:
    lead = json_body(request)
    lead_id = lead.get("lead_id") if isinstance(lead, dict) else None
    if not isinstance(lead_id, str) or not lead_id:
        raise PayloadRejected("the lead has no lead_id", topic="lead")
    columns = lead.get("user_column_data")
    if not isinstance(columns, list):
        raise PayloadRejected("user_column_data must be a list", topic="lead", external_id=lead_id)
    traits: dict = {}
    answers: dict = {}
    for column in columns:
        if not isinstance(column, dict):
            continue
        column_id = str(column.get("column_id") or "")
        value = column.get("string_value")
        if column_id in GOOGLE_COLUMNS:
            _set(traits, GOOGLE_COLUMNS[column_id], value)
        elif value not in (None, ""):
            answers[(column.get("column_name") or column_id or "answer")[:100]] = value
    properties = {
        "lead_id": lead_id,
        "form_id": lead.get("form_id"),
        "campaign_id": lead.get("campaign_id"),
        "adgroup_id": lead.get("adgroup_id"),
        "creative_id": lead.get("creative_id"),
        "asset_group_id": lead.get("asset_group_id"),
        "gclid": lead.get("gcl_id"),
        "lead_stage": lead.get("lead_stage"),
        "is_test": bool(lead.get("is_test")),
        "answers": answers or None,
    }
    campaign = {
        "source": "google",
        "medium": "cpc",
        "id": str(lead["campaign_id"]) if lead.get("campaign_id") else None,
        "name": source.connector_config.get("campaign_names", {}).get(str(lead.get("campaign_id")))
        if isinstance(source.connector_config.get("campaign_names"), dict)
        else None,
        "content": str(lead["creative_id"]) if lead.get("creative_id") else None,
        "gclid": lead.get("gcl_id"),
    }
    calls = _lead_calls(
        vendor=GOOGLE,
        lead_id=lead_id,
        traits=traits,
        properties=properties,
        campaign=campaign,
        at=_iso(lead.get("lead_submit_time")),
    )
    return Mapped(topic="lead" + (" (test)" if lead.get("is_test") else ""), external_id=lead_id, calls=calls)


def google_sample(source: Source) -> WebhookRequest:
    lead = {
        "lead_id": f"TeSt-{uuid.uuid4().hex[:20]}",
        "api_version": "1.0",
        "form_id": 1,
        "campaign_id": 1,
        "google_key": source.connector_secret,
        "is_test": True,
        "gcl_id": "test-gclid",
        "user_column_data": [
            {"column_name": "Full Name", "string_value": "Test Customer", "column_id": "FULL_NAME"},
            {"column_name": "User Email", "string_value": "test.customer@example.com", "column_id": "EMAIL"},
        ],
    }
    return WebhookRequest(body=json.dumps(lead).encode(), headers={})


GOOGLE_ADS = Connector(
    kind=Source.Kind.GOOGLE_ADS,
    label=GOOGLE,
    max_bytes=64 * 1024,  # one lead; cdpcrm's limit
    verify=google_verify,
    map=google_map,
    sample=google_sample,
    docs_url="https://developers.google.com/google-ads/webhook/docs/implementation",
    secret_from_vendor=False,
    paste_label="Key",
    setup="In Google Ads, open the lead form asset, choose Lead delivery > Webhook integration, paste {url} as "
    "the webhook URL and the key below as the key, then send test data.",
)


# --- Generic lead webhook ---------------------------------------------------------------------------------


def _path(payload, path: str):
    value = payload
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value if isinstance(value, str | int | float) and not isinstance(value, bool) else None


def generic_verify(source: Source, request: WebhookRequest) -> None:
    secret = source.connector_secret
    if not secret:
        raise SignatureInvalid("no secret is configured for this source")
    signature = request.header("X-Webhook-Signature").strip()
    if signature:
        expected = "sha256=" + hmac_sha256(secret, request.body).hex()
        if same(expected, signature):
            return
        raise SignatureInvalid("X-Webhook-Signature does not match the body")
    given = request.header("X-Webhook-Secret") or request.query.get("secret", "")
    if not same(secret, given.strip()):
        raise SignatureInvalid("send the secret in X-Webhook-Secret or ?secret=, or sign the body")


def generic_map(source: Source, request: WebhookRequest) -> Mapped:
    lead = json_body(request)
    if not isinstance(lead, dict):
        raise PayloadRejected("the body must be a JSON object", topic="lead")
    configured = source.connector_config.get("field_map")
    field_map = {**DEFAULT_FIELD_MAP, **(configured if isinstance(configured, dict) else {})}
    network = str(source.connector_config.get("network") or "lead-webhook")[:60]
    traits: dict = {}
    campaign: dict = {"source": network}
    used = set()
    for target, path in field_map.items():
        if not isinstance(path, str) or not path:
            continue
        value = _path(lead, path)
        if value is None:
            continue
        used.add(path.split(".")[0])
        if target.startswith("campaign."):
            campaign[target[9:]] = str(value)
        elif target != "lead_id":
            _set(traits, target, value)
    if not traits.get("email") and not traits.get("phone"):
        raise PayloadRejected(
            "the lead has no e-mail or phone at the mapped fields "
            f"({field_map.get('email')!r}, {field_map.get('phone')!r})",
            topic="lead",
        )
    lead_id = _path(lead, str(field_map.get("lead_id") or ""))
    lead_id = str(lead_id) if lead_id is not None else hashlib.sha256(request.body).hexdigest()[:32]
    properties = {
        "lead_id": lead_id,
        "network": network,
        "fields": {k: v for k, v in lead.items() if k not in used and isinstance(v, str | int | float | bool)}
        or None,
    }
    at = _iso(lead.get("created_at") or lead.get("submitted_at")) or datetime.now(UTC).isoformat()
    calls = _lead_calls(
        vendor=network, lead_id=lead_id, traits=traits, properties=properties, campaign=campaign, at=at
    )
    return Mapped(topic="lead", external_id=lead_id, calls=calls)


def generic_sample(source: Source) -> WebhookRequest:
    lead = {
        "lead_id": f"test-{uuid.uuid4().hex[:16]}",
        "email": "test.customer@example.com",
        "full_name": "Test Customer",
        "utm_campaign": "test-campaign",
        "utm_medium": "paid_social",
    }
    return WebhookRequest(
        body=json.dumps(lead).encode(), headers={"x-webhook-secret": source.connector_secret}
    )


LEAD_WEBHOOK = Connector(
    kind=Source.Kind.LEAD_WEBHOOK,
    label="Lead webhook",
    max_bytes=64 * 1024,
    verify=generic_verify,
    map=generic_map,
    sample=generic_sample,
    docs_url="",  # our own format: docs/connectors.md
    secret_from_vendor=False,
    setup="Point the network's (or Zapier's) lead webhook at {url} with the header X-Webhook-Secret set to the "
    "secret below (or sign the body: X-Webhook-Signature: sha256=<hex HMAC-SHA256>). Which JSON fields hold the "
    "e-mail, phone, name and campaign is set in the source's field map (admin).",
)
