"""Factories and helpers for CDP tests."""

import base64
import itertools

from profiles.models import Source
from profiles.services import source_create

_counter = itertools.count()


def make_source(
    *, name: str | None = None, kind: str = Source.Kind.SERVER, enabled: bool = True
) -> tuple[Source, str]:
    """A source and its write key (sources are made by the service so keys are hashed as in production)."""
    source, key = source_create(name=name or f"Source {next(_counter)}", kind=kind)
    if not enabled:
        source.enabled = False
        source.save(update_fields=["enabled"])
    return source, key


def basic_auth(write_key: str) -> str:
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def track(n: int = 0, **extra) -> dict:
    return {
        "type": "track",
        "event": "Product Viewed",
        "userId": f"user-{n}",
        "messageId": f"msg-{n}",
        "properties": {"sku": f"SKU-{n}"},
        **extra,
    }
