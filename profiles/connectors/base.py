"""What every connector shares: the request it reads, its errors, and builders of Segment-spec calls."""

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from profiles.models import Source

CHANNEL_LIBRARY = "cdpcrm-connector"


class SignatureInvalid(Exception):
    """The request is not from the vendor (or was replayed late): 401, nothing stored."""


class PayloadRejected(Exception):
    """Signed, but unusable (unknown topic, malformed body): 2xx so the vendor stops, recorded as rejected."""

    def __init__(self, reason: str, *, topic: str = "", external_id: str = ""):
        super().__init__(reason)
        self.reason, self.topic, self.external_id = reason, topic, external_id


@dataclass
class WebhookRequest:
    body: bytes
    headers: dict[str, str]  # lower-case names
    query: dict[str, str] = field(default_factory=dict)
    content_type: str = ""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Mapped:
    """A delivery turned into Segment-spec calls; `checkouts` are (token, call, updated_at, completed)."""

    topic: str
    external_id: str
    calls: list[dict]
    checkouts: list[tuple[str, dict, datetime, bool]] = field(default_factory=list)
    note: str = ""  # e.g. events of a batch that were skipped, and why


@dataclass(frozen=True)
class Connector:
    kind: str
    label: str
    # The request body cdpcrm accepts at most (413 above it).
    max_bytes: int
    verify: Callable[[Source, WebhookRequest], None]
    map: Callable[[Source, WebhookRequest], Mapped]
    sample: Callable[[Source], WebhookRequest]  # a signed test delivery, for the source page's button
    docs_url: str
    # True: the vendor makes the secret and the marketer pastes it here; False: cdpcrm makes it.
    secret_from_vendor: bool
    paste_label: str = "Signing secret"
    # How the vendor is pointed at cdpcrm, with {url}.
    setup: str = ""
    url_with_secret: bool = False


def message_id(*parts) -> str:
    """A messageId made of the vendor's ids (so a redelivery carries the same one), hashed past 100 chars."""
    text = "-".join(str(part) for part in parts)
    if len(text) <= 100:
        return text
    return f"{parts[0]}-{hashlib.sha256(text.encode()).hexdigest()[:60]}"


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def same(expected: str | bytes, given: str | bytes) -> bool:
    if isinstance(expected, str):
        expected = expected.encode()
    if isinstance(given, str):
        given = given.encode()
    return bool(expected) and hmac.compare_digest(expected, given)


def json_body(request: WebhookRequest):
    try:
        return json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadRejected(f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise PayloadRejected("the body is nested too deeply") from None


def json_object(request: WebhookRequest, *, topic: str = "") -> dict:
    body = json_body(request)
    if not isinstance(body, dict):
        raise PayloadRejected("the body must be a JSON object", topic=topic)
    return body


def epoch_iso(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def money(value) -> float | None:
    """A vendor's price ("29.99", 29.99) as a number; None when it is none."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def clean_traits(traits: dict) -> dict:
    return {key: value for key, value in traits.items() if value not in (None, "", [], {})}


def call(
    *,
    kind: str,
    message_id: str,
    timestamp: str | None,
    anonymous_id: str,
    vendor: str,
    event: str = "",
    properties: dict | None = None,
    traits: dict | None = None,
    external_ids: list[tuple[str, str]] = (),
    campaign: dict | None = None,
    context: dict | None = None,
) -> dict:
    """One Segment-spec call from a connector. It is keyed by the vendor's id of the person (anonymousId),
    and the e-mail, phone and external ids in the context link it to the profile the tracking API knows."""
    traits = clean_traits(traits or {})
    context = {
        **(context or {}),
        "library": {"name": CHANNEL_LIBRARY, "version": "1"},
        "integration": {"name": vendor},
    }
    if traits:
        context["traits"] = {k: v for k, v in traits.items() if k in ("email", "phone")} or None
        if context["traits"] is None:
            del context["traits"]
    ids = [{"type": kind_, "id": str(value), "encoding": "none"} for kind_, value in external_ids if value]
    if ids:
        context["externalIds"] = ids
    if campaign:
        context["campaign"] = {k: v for k, v in campaign.items() if v not in (None, "")}
    result: dict = {"type": kind, "messageId": message_id[:100], "anonymousId": anonymous_id[:255]}
    if timestamp:
        result["timestamp"] = timestamp
    if kind == "track":
        result["event"] = event
        result["properties"] = {k: v for k, v in (properties or {}).items() if v is not None}
    elif kind == "identify":
        result["traits"] = traits
    result["context"] = context
    return result
