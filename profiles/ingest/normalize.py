"""Turn stored Segment-spec calls into NormalizedEvents: validation, clock-skew correction, enrichment."""

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from urllib.parse import parse_qs, urlsplit

import orjson
from ua_parser import parse as ua_parse

from .clean import text_clean

EVENT_TYPES = ("track", "identify", "page", "screen", "group", "alias")
MAX_MESSAGE_ID = 100
MAX_ID = 255
MAX_NAME = 200
# Segment's limits: 32 KB per event, 2,500 events per batch (500 KB per request is checked at the edge).
MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_EVENTS = 2500
# ISO 8601 as Segment's own docs write it too: one-digit months, days and hours ("2015-2-02T00:30:12.984Z").
LOOSE_ISO_DATE = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    r"(?:[T ](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?)?"
    r"\s*(?P<zone>Z|z|[+-]\d{2}(?::?\d{2})?)?"
)
UTM_FIELDS = {
    "utm_source": "source",
    "utm_medium": "medium",
    "utm_campaign": "name",
    "utm_term": "term",
    "utm_content": "content",
}
MESSAGE_ID_NAMESPACE = uuid.UUID("5c1e8a3c-4f59-4a40-9b53-0f7d1d8a9e21")


class EventRejected(ValueError):
    """One event of a batch is invalid; the rest of the batch goes on."""


@dataclass
class NormalizedEvent:
    message_id: str
    type: str
    timestamp: datetime
    received_at: datetime
    name: str = ""
    category: str = ""
    user_id: str = ""
    anonymous_id: str = ""
    group_id: str = ""
    previous_id: str = ""
    email: str = ""
    original_timestamp: datetime | None = None
    sent_at: datetime | None = None
    properties: dict = field(default_factory=dict)
    traits: dict = field(default_factory=dict)
    context: dict = field(default_factory=dict)
    integrations: dict = field(default_factory=dict)
    position: int = 0  # index in its batch


@dataclass
class Rejection:
    position: int
    message_id: str
    reason: str
    excerpt: str


def rejection_of(item, *, position: int, reason: str) -> Rejection:
    """A Rejection whose texts are safe to store whatever the item held."""
    message_id = str(item.get("messageId") or "")[:MAX_MESSAGE_ID] if isinstance(item, dict) else ""
    return Rejection(
        position=position,
        message_id=text_clean(message_id),
        reason=text_clean(reason)[:300],
        excerpt=json.dumps(item, default=str)[:1000],
    )


@dataclass
class RequestInfo:
    """What the tracking view knew about the request, needed for enrichment."""

    received_at: datetime
    request_id: str
    client_ip: str | None = None
    user_agent: str = ""
    browser_source: bool = False


def _loose_iso(text: str) -> datetime | None:
    match = LOOSE_ISO_DATE.fullmatch(text)
    if match is None:
        return None
    parts = match.groupdict()
    zone = parts["zone"]
    tzinfo = UTC
    if zone and zone not in "Zz":
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        tzinfo = timezone(-offset if zone[0] == "-" else offset)
    fraction = (parts["fraction"] or "")[:6].ljust(6, "0")
    try:
        return datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int(fraction),
            tzinfo=tzinfo,
        )
    except ValueError:  # month 13, February 30, hour 25, an offset of a day or more
        return None


def parse_time(value, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise EventRejected(f"{name} must be an ISO-8601 date string")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = _loose_iso(text)
        if parsed is None:
            raise EventRejected(f"{name} is not an ISO-8601 date: {value[:40]!r}") from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:
        # In UTC, and within what every database stores: year 1 at +14:00 is year 0 in UTC.
        return parsed.astimezone(UTC)
    except OverflowError:
        raise EventRejected(f"{name} is out of range: {value[:40]!r}") from None


def _identifier(item: dict, key: str) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise EventRejected(f"{key} must be a string")
    text = str(value).strip()
    if len(text) > MAX_ID:
        raise EventRejected(f"{key} is longer than {MAX_ID} characters")
    return text


def _object(item: dict, key: str) -> dict:
    value = item.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EventRejected(f"{key} must be an object")
    return value


def _text(item: dict, key: str) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise EventRejected(f"{key} must be a string")
    return value[:MAX_NAME]


@lru_cache(maxsize=2048)
def user_agent_details(user_agent: str) -> tuple[dict, dict, dict]:
    """(browser, os, device) dicts parsed from a User-Agent string; cached because parsing is regex-heavy."""
    result = ua_parse(user_agent)
    browser = {"name": result.user_agent.family} if result.user_agent else {}
    if result.user_agent and result.user_agent.major:
        browser["version"] = ".".join(p for p in (result.user_agent.major, result.user_agent.minor) if p)
    os_info = {"name": result.os.family} if result.os else {}
    if result.os and result.os.major:
        os_info["version"] = ".".join(p for p in (result.os.major, result.os.minor) if p)
    device = {}
    if result.device:
        device = {
            "model": result.device.model or result.device.family,
            "manufacturer": result.device.brand or "",
        }
        family = (result.device.family or "").lower()
        os_name = (os_info.get("name") or "").lower()
        if "ipad" in family or "tablet" in family:
            device["type"] = "tablet"
        elif os_name in {"ios", "android"} or "mobile" in user_agent.lower():
            device["type"] = "mobile"
        elif family == "spider":
            device["type"] = "bot"
        else:
            device["type"] = "desktop"
    return browser, os_info, device


def campaign_from_url(url: str) -> dict:
    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:
        return {}
    return {target: query[param][0] for param, target in UTM_FIELDS.items() if query.get(param)}


def enrich_context(context: dict, *, properties: dict, event_type: str, info: RequestInfo) -> dict:
    """Fill IP, campaign and device/OS/browser, never overwriting what the client sent."""
    context = dict(context)
    library = (
        str((context.get("library") or {}).get("name", ""))
        if isinstance(context.get("library"), dict)
        else ""
    )
    from_browser = (
        info.browser_source or library.startswith("analytics.js") or library.startswith("analytics-next")
    )
    if not context.get("ip") and info.client_ip and (context.get("direct") or from_browser):
        context["ip"] = info.client_ip
    if not context.get("userAgent") and info.user_agent and from_browser:
        context["userAgent"] = info.user_agent
    if not isinstance(context.get("campaign"), dict) or not context.get("campaign"):
        page = context.get("page") if isinstance(context.get("page"), dict) else {}
        url = page.get("url") or (properties.get("url") if event_type == "page" else "") or ""
        campaign = campaign_from_url(url) if isinstance(url, str) and "utm_" in url else {}
        if campaign:
            context["campaign"] = campaign
    user_agent = context.get("userAgent")
    if isinstance(user_agent, str) and user_agent:
        browser, os_info, device = user_agent_details(user_agent[:512])
        if browser:
            context.setdefault("browser", browser)
        if os_info and not context.get("os"):
            context["os"] = os_info
        if device:
            existing = context.get("device") if isinstance(context.get("device"), dict) else {}
            context["device"] = {**device, **existing}
    return context


def email_of(traits: dict, context: dict) -> str:
    """The e-mail an event carries: its traits' or its context traits', lower-cased."""
    candidates = [traits.get("email")]
    if isinstance(context.get("traits"), dict):
        candidates.append(context["traits"].get("email"))
    for value in candidates:
        if isinstance(value, str) and "@" in value:
            return value.strip().lower()[:MAX_ID]
    return ""


def normalize_event(
    item,
    *,
    position: int,
    forced_type: str | None,
    batch_context: dict,
    batch_integrations: dict,
    batch_sent_at,
    info: RequestInfo,
) -> NormalizedEvent:
    if not isinstance(item, dict):
        raise EventRejected("event must be a JSON object")
    event_type = forced_type or item.get("type")
    if event_type not in EVENT_TYPES:
        raise EventRejected(f"type must be one of {', '.join(EVENT_TYPES)}")
    message_id = item.get("messageId")
    if message_id in (None, ""):
        message_id = f"gen-{uuid.uuid5(MESSAGE_ID_NAMESPACE, f'{info.request_id}:{position}')}"
    message_id = str(message_id)
    if len(message_id) > MAX_MESSAGE_ID:
        raise EventRejected(f"messageId is longer than {MAX_MESSAGE_ID} characters")
    user_id = _identifier(item, "userId")
    anonymous_id = _identifier(item, "anonymousId")
    if not user_id and not anonymous_id:
        raise EventRejected("userId or anonymousId is required")
    name = category = group_id = previous_id = ""
    if event_type == "track":
        name = _text(item, "event").strip()
        if not name:
            raise EventRejected("event is required for track calls")
    elif event_type in ("page", "screen"):
        name, category = _text(item, "name"), _text(item, "category")
    elif event_type == "group":
        group_id = _identifier(item, "groupId")
        if not group_id:
            raise EventRejected("groupId is required for group calls")
    elif event_type == "alias":
        previous_id = _identifier(item, "previousId")
        if not previous_id or not user_id:
            raise EventRejected("previousId and userId are required for alias calls")
    properties = _object(item, "properties")
    traits = _object(item, "traits")
    context = {**batch_context, **_object(item, "context")}
    if event_type in ("identify", "alias") and isinstance(context.get("traits"), dict):
        # RudderStack's libraries send identify traits in context.traits only; its spec reads both,
        # the root object winning a clash.
        traits = {**context["traits"], **traits}
    integrations = {**batch_integrations, **_object(item, "integrations")}

    sent_at = parse_time(item.get("sentAt"), "sentAt") or batch_sent_at
    original = parse_time(item.get("originalTimestamp"), "originalTimestamp")
    client_timestamp = parse_time(item.get("timestamp"), "timestamp")
    if sent_at and (original or client_timestamp):
        # Clock-skew correction: the device clock may be wrong, the gap sentAt - originalTimestamp is not.
        original = original or client_timestamp
        try:
            timestamp = info.received_at - (sent_at - original)
        except OverflowError:
            raise EventRejected("sentAt and timestamp are too far apart to be dates") from None
    else:
        timestamp = client_timestamp or original or info.received_at

    context = enrich_context(context, properties=properties, event_type=event_type, info=info)
    return NormalizedEvent(
        message_id=message_id,
        type=event_type,
        timestamp=timestamp,
        received_at=info.received_at,
        name=name,
        category=category,
        user_id=user_id,
        anonymous_id=anonymous_id,
        group_id=group_id,
        previous_id=previous_id,
        email=email_of(traits, context),
        original_timestamp=original,
        sent_at=sent_at,
        properties=properties,
        traits=traits,
        context=context,
        integrations=integrations,
    )


def _event_bytes(item) -> int:
    try:
        return len(orjson.dumps(item))
    except TypeError:  # integers past 64 bits
        return len(json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode())


def normalize_body(
    *, kind: str, body: dict, info: RequestInfo, body_size: int = 0
) -> tuple[list[NormalizedEvent], list[Rejection]]:
    """Every event of a stored request, deduplicated by messageId, plus the rejected ones with reasons.

    As Segment does, an event over 32 KB and the events past the 2,500th of a batch are rejected one by
    one and the rest stored. `body_size` is the stored body's length: a smaller body cannot hold an
    over-large event, so events are only measured when it is larger.
    """
    if kind in ("batch", "csv"):
        items = body.get("batch") or []
        forced_type = None
        batch_context = body.get("context") if isinstance(body.get("context"), dict) else {}
        batch_integrations = body.get("integrations") if isinstance(body.get("integrations"), dict) else {}
        try:
            batch_sent_at = parse_time(body.get("sentAt"), "sentAt")
        except EventRejected:
            batch_sent_at = None
    else:
        items, forced_type, batch_context, batch_integrations, batch_sent_at = [body], kind, {}, {}, None
    events: dict[str, NormalizedEvent] = {}
    rejections: list[Rejection] = []
    if not isinstance(items, list):
        items = []
    measure = body_size > MAX_EVENT_BYTES
    for position, item in enumerate(items):
        if position >= MAX_BATCH_EVENTS:
            reason = f"the batch has {len(items)} events: only the first {MAX_BATCH_EVENTS} are stored"
            rejections.append(rejection_of(item, position=position, reason=reason))
            continue
        if measure and (size := _event_bytes(item)) > MAX_EVENT_BYTES:
            reason = f"the event is larger than 32 KB ({size:,} bytes)"
            rejections.append(rejection_of(item, position=position, reason=reason))
            continue
        try:
            event = normalize_event(
                item,
                position=position,
                forced_type=forced_type,
                batch_context=batch_context,
                batch_integrations=batch_integrations,
                batch_sent_at=batch_sent_at,
                info=info,
            )
        except EventRejected as exc:
            rejections.append(rejection_of(item, position=position, reason=str(exc)))
            continue
        except Exception as exc:  # whatever else one event can do must not fail its batch
            reason = f"the event could not be read ({type(exc).__name__}: {exc})"
            rejections.append(rejection_of(item, position=position, reason=reason))
            continue
        event.position = position
        events.setdefault(event.message_id, event)
    return list(events.values()), rejections
