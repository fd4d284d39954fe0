import json

import pytest
from django.db import connection

from .factories import basic_auth, make_source


@pytest.fixture
def source_and_key(db):
    return make_source(name="Website", kind="website")


@pytest.fixture
def post(client, source_and_key, django_capture_on_commit_callbacks):
    """POST JSON to a tracking path with the source's key; runs the on-commit processing like production."""
    _, key = source_and_key

    def send(
        path: str, payload, *, key: str | None = key, headers: dict | None = None, raw: bytes | None = None
    ):
        extra = {"HTTP_AUTHORIZATION": basic_auth(key)} if key else {}
        extra.update(headers or {})
        body = raw if raw is not None else json.dumps(payload)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, data=body, content_type="application/json", **extra)

    return send


@pytest.fixture
def grouping():
    """Batches are grouped only where rows can be locked with SKIP LOCKED."""
    if connection.vendor != "postgresql":
        pytest.skip("batches are grouped only where rows can be locked with SKIP LOCKED (PostgreSQL)")
