"""Ticket test fixtures: the SLA policies a migration seeds (a transactional test's flush removes them)."""

import pytest

from tickets.models import SlaPolicy
from tickets.sla import DEFAULT_TARGETS


@pytest.fixture(autouse=True)
def sla_policies(db):
    for priority, (first, resolution) in DEFAULT_TARGETS.items():
        SlaPolicy.objects.get_or_create(
            priority=priority, defaults={"first_response_minutes": first, "resolution_minutes": resolution}
        )
