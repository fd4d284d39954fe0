"""Signatures like Stripe's: HMAC-SHA256 of "<timestamp>.<body>" with the endpoint's secret, hex.

`X-Cdpcrm-Signature` carries one `v1=` value per valid secret (the new one and, during a rotation's overlap,
the old one), so a receiver that knows either secret accepts the payload.
"""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Cdpcrm-Signature"
TIMESTAMP_HEADER = "X-Cdpcrm-Timestamp"
TOLERANCE_SECONDS = 300


def sign(*, secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(*, secrets: list[str], timestamp: str, body: bytes) -> str:
    return ",".join(f"v1={sign(secret=s, timestamp=timestamp, body=body)}" for s in secrets if s)


def signature_verify(*, secret: str, header: str, timestamp: str, body: bytes, now: float) -> bool:
    """What a receiver does (and the tests): a fresh timestamp and one matching v1 value."""
    try:
        if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
            return False
    except ValueError:
        return False
    expected = sign(secret=secret, timestamp=timestamp, body=body)
    return any(
        hmac.compare_digest(part.strip()[3:], expected)
        for part in header.split(",")
        if part.strip().startswith("v1=")
    )
