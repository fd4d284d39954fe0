"""Fixtures for connector tests: sources with secrets, fixture payloads, signed posts to the webhook URL."""

import json
from pathlib import Path

import pytest

from profiles.connectors.services import connector_secret_set
from tests.profiles.factories import make_source

DATA = Path(__file__).resolve().parents[1] / "data" / "connectors"


def fixture_bytes(name: str) -> bytes:
    return (DATA / name).read_bytes()


def fixture_json(name: str):
    return json.loads(fixture_bytes(name))


def connector_source(kind: str, *, secret: str | None = None, name: str | None = None, **config):
    source, _ = make_source(name=name or kind.title(), kind=kind)
    if config:
        source.connector_config = config
        source.save(update_fields=["connector_config"])
    if secret is not None:
        return connector_secret_set(source=source, secret=secret)
    return source


@pytest.fixture
def deliver(client, django_capture_on_commit_callbacks):
    """POST a body to a source's webhook URL; the on-commit processing runs as in production."""

    def send(
        source,
        body: bytes,
        *,
        headers: dict | None = None,
        query: str = "",
        content_type: str = "application/json",
    ):
        url = f"/v1/webhooks/{source.pk}/{source.kind}" + (f"?{query}" if query else "")
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in (headers or {}).items()}
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data=body, content_type=content_type, **extra)

    return send
