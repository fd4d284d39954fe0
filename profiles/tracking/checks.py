"""Cheap checks of a tracking request before it enters the inbox: key, rate, size, JSON shape."""

import base64
import binascii
import json
import re
import time
import zlib
from dataclasses import dataclass
from itertools import accumulate

from django.conf import settings

from ..ingest.normalize import MAX_EVENT_BYTES
from ..models import Source
from . import cache
from .cache import source_by_key_hash, write_key_digest

MAX_REQUEST_BYTES = 500 * 1024
# Checked on the raw bytes before parsing: Python's parser recurses per level (RecursionError past ~1,000),
# and an object with tens of thousands of keys is no tracking call. Real calls nest a handful of levels.
MAX_JSON_DEPTH = 64
MAX_JSON_KEYS = 50_000
# A string literal, or an unterminated one up to the end (so that a body of escaped quotes stays linear).
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_BRACKET_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class TrackingError(Exception):
    """A request refused as a whole; becomes a JSON error response."""

    def __init__(
        self, status: int, message: str, *, field: str | None = None, retry_after: int | None = None
    ):
        super().__init__(message)
        self.status, self.message, self.field, self.retry_after = status, message, field, retry_after
        self.code = {
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            429: "rate_limited",
            503: "unavailable",
        }.get(status, "bad_request")

    def payload(self) -> dict:
        # "code"/"message" as Segment answers (its client libraries read them), "error"/"field" for people.
        error = {"success": False, "error": self.message, "code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return error


@dataclass
class ParsedRequest:
    source: Source
    body: dict
    text: str
    event_count: int


def basic_auth_key(header: str) -> str | None:
    if not header[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise TrackingError(401, "the Authorization header is not valid HTTP Basic") from None
    return decoded.split(":", 1)[0]


def rate_limit_parse(value: str) -> tuple[int, int]:
    """'1000/s' -> (1000, 1); '0' switches the limit off."""
    count, _, unit = str(value).partition("/")
    seconds = {"": 1, "s": 1, "m": 60, "h": 3600}[unit.strip().lower()[:1]]
    return int(count), seconds


def authenticate(write_key: str | None) -> Source:
    """The enabled source of a write key, within its rate limit; one Redis round trip, usually no query."""
    if not write_key:
        raise TrackingError(
            401, "missing write key: use HTTP Basic auth (key as username) or writeKey in the body"
        )
    digest = write_key_digest(write_key)
    limit, window = rate_limit_parse(settings.TRACKING_RATE_LIMIT)
    now = time.time()
    bucket = int(now // window)
    count, generation = cache.counters(
        rate_key=f"cdp:rate:{digest[:32]}:{bucket}" if limit > 0 else None, window=window
    )
    source = cache.source_cached(digest, generation, lambda: source_by_key_hash(digest=digest))
    if source is None:
        raise TrackingError(401, "invalid write key")
    if not source.enabled:
        raise TrackingError(403, f"source {source.name!r} is disabled")
    if limit > 0 and count > limit:
        retry_after = max(1, int((bucket + 1) * window - now + 0.999))
        raise TrackingError(
            429,
            f"rate limit of {settings.TRACKING_RATE_LIMIT} requests per write key exceeded",
            retry_after=retry_after,
        )
    return source


def body_decode(raw: bytes, content_encoding: str) -> bytes:
    if content_encoding.strip().lower() == "gzip":
        try:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            raw = inflater.decompress(raw, MAX_REQUEST_BYTES + 1)
        except zlib.error:
            raise TrackingError(400, "the body is not valid gzip") from None
    if len(raw) > MAX_REQUEST_BYTES:
        raise TrackingError(400, "the request is larger than 500 KB")
    return raw


def structure_check(raw: bytes) -> None:
    """Refuse a body nested deeper than MAX_JSON_DEPTH or with more than MAX_JSON_KEYS keys, from its bytes.

    Brackets and colons count only outside strings; a body with fewer brackets than the depth limit (and
    fewer colons than the key limit) cannot exceed them, so the usual request costs two byte counts.
    """
    opens = raw.count(b"[") + raw.count(b"{")
    if opens <= MAX_JSON_DEPTH and raw.count(b":") <= MAX_JSON_KEYS:
        return
    bare = _JSON_STRING.sub(b'""', raw)
    if bare.count(b":") > MAX_JSON_KEYS:
        raise TrackingError(400, f"the body has more than {MAX_JSON_KEYS:,} keys")
    brackets = bare.translate(None, _NOT_BRACKETS)
    if (
        len(brackets) > MAX_JSON_DEPTH
        and max(accumulate(_BRACKET_STEP[c] for c in brackets)) > MAX_JSON_DEPTH
    ):
        raise TrackingError(400, f"the body is nested more than {MAX_JSON_DEPTH} levels deep")


def body_parse(raw: bytes) -> tuple[dict, str]:
    structure_check(raw)
    try:
        text = raw.decode("utf-8")
        body = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise TrackingError(400, f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise TrackingError(400, f"the body is nested more than {MAX_JSON_DEPTH} levels deep") from None
    if not isinstance(body, dict):
        raise TrackingError(400, "the body must be a JSON object")
    return body, text


def shape_check(*, kind: str, body: dict, size: int) -> int:
    """Number of events; refuses a single call over 32 KB. In a batch, as Segment does, an over-large event
    and the events past the 2,500th are rejected one by one by the worker and the rest stored."""
    if kind != "batch":
        if size > MAX_EVENT_BYTES:
            raise TrackingError(400, "the event is larger than 32 KB")
        return 1
    items = body.get("batch")
    if not isinstance(items, list):
        raise TrackingError(400, "batch must be a list of events", field="batch")
    return len(items)


def request_parse(
    *, kind: str, raw: bytes, authorization: str, content_encoding: str, query_key: str | None = None
) -> ParsedRequest:
    """Authenticate (Basic header, else `writeKey` in the query string or the body), then check the body."""
    header_key = basic_auth_key(authorization) if authorization else None
    first_key = header_key or query_key
    source = authenticate(first_key) if first_key else None
    decoded = body_decode(raw, content_encoding)
    body, text = body_parse(decoded)
    if source is None:
        write_key = body.get("writeKey")
        source = authenticate(write_key if isinstance(write_key, str) else None)
    count = shape_check(kind=kind, body=body, size=len(decoded))
    return ParsedRequest(source=source, body=body, text=text, event_count=count)
