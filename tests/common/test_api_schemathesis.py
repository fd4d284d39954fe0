"""Schemathesis against the OpenAPI schema (`/api/schema/`): no operation answers a server error.

Every operation gets a few generated requests, valid ones and ones that break the schema (wrong types,
missing fields, odd strings), sent through the WSGI app with an admin's token over one record of every
kind. `EXAMPLES` bounds the run (about 80 s on SQLite, 90 s on PostgreSQL, on a 2-core machine).
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

from common.security.models import ApiToken
from common.security.tokens import key_hash
from tests.cdpcrm.site import site_objects

pytestmark = pytest.mark.django_db

EXAMPLES = {GenerationMode.POSITIVE: 2, GenerationMode.NEGATIVE: 2}
TOKEN = "schemathesis0000000000000000000000000000"  # a fixed key, in the 40-character legacy format
AUTH = {"Authorization": f"Token {TOKEN}"}


def _probe(operation, mode, examples: int, failures: list[str]):
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        response = case.call(headers=AUTH)
        if response.status_code >= 500:
            failures.append(f"{operation.label}: {response.status_code} for {case.as_curl_command()[:300]}")

    return run


@pytest.fixture
def connection_kept():
    """The WSGI app ends each request by closing old database connections; Django's test client stops
    that (the test's transaction lives on that connection), and so must a test calling the app directly."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def test_no_api_operation_answers_a_server_error(admin_user, connection_kept):
    site_objects(user=admin_user)
    ApiToken.objects.create(user=admin_user, name="schemathesis", prefix=TOKEN[:8], key_hash=key_hash(TOKEN))
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), headers=AUTH)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode, examples in EXAMPLES.items():
            try:
                _probe(operation, mode, examples, failures)()
            except Unsatisfiable:
                pass  # nothing in this operation can break the schema in that way (no parameters, no body)
    assert len(operations) > 50
    assert failures == []
