"""Errors read as sentences: no constraint names reach staff, every invalid field at once."""

import pytest

from tickets.models import SlaPolicy

pytestmark = pytest.mark.django_db


def test_sla_policy_errors_are_sentences_not_constraint_names(admin_client_role):
    policy = SlaPolicy.objects.get(priority="normal")
    response = admin_client_role.post(
        f"/admin/tickets/slapolicy/{policy.pk}/change/",
        {"priority": "normal", "first_response_minutes": "0", "resolution_minutes": "0"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "The first-response and resolution targets must both be more than 0 minutes." in html
    assert "slapolicy_targets_positive" not in html and "Constraint" not in html
    longer = admin_client_role.post(
        f"/admin/tickets/slapolicy/{policy.pk}/change/",
        {"priority": "normal", "first_response_minutes": "60", "resolution_minutes": "30"},
    )
    assert (
        "The resolution target cannot be shorter than the first-response target." in longer.content.decode()
    )
