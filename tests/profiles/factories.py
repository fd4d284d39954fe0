"""Factories and helpers for CDP tests."""

import base64
import itertools
import json

from profiles.ingest.inbox import batch_accept, request_info_now
from profiles.models import IngestBatch, Source
from profiles.sources.services import source_create

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


def store_batch(source, items: list[dict]) -> IngestBatch:
    """An inbox batch as the view stores it; processing runs only if on-commit callbacks are executed."""
    return batch_accept(
        source=source,
        kind="batch",
        body=json.dumps({"batch": items}),
        event_count=len(items),
        info=request_info_now(client_ip="127.0.0.1", user_agent="", browser_source=False),
    )
