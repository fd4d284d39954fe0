"""The demo deals: spread across stages and owners, past won/lost with history; same result when run twice."""

import io

import pytest
from django.utils import timezone

from cdpcrm.demo import demo_users_ensure
from pipeline import demo
from pipeline.models import Deal, DealStageChange, Stage
from tests.contacts.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db


def test_demo_deals_are_realistic_deterministic_and_idempotent():
    for i in range(12):
        ContactFactory(company=CompanyFactory(name=f"Demo shop {i:02d}"), owner=None)
    users = demo_users_ensure()
    demo.demo_load(users=users, stdout=io.StringIO())
    first = list(
        Deal.objects.order_by("id").values_list(
            "title", "amount", "currency", "stage__name", "owner__username"
        )
    )
    assert len(first) == demo.DEAL_COUNT
    assert {owner for *_, owner in first} == {"sales", "sales2", "sales3"}
    assert {stage for *_, stage, _ in first} >= {
        "Lead-in",
        "Qualified",
        "Proposal",
        "Negotiation",
        "Won",
        "Lost",
    }
    now = timezone.now()
    closed = Deal.objects.exclude(stage__kind=Stage.Kind.OPEN)
    assert closed.exists() and all(deal.closed_at < now for deal in closed)
    assert not Deal.objects.filter(stage__kind=Stage.Kind.LOST, lost_reason="").exists()
    assert DealStageChange.objects.count() > Deal.objects.count()  # moves, not only creations

    output = io.StringIO()
    demo.demo_load(users=users, stdout=output)
    assert "already loaded" in output.getvalue()
    assert Deal.objects.count() == demo.DEAL_COUNT

    Deal.objects.all().delete()
    demo.demo_load(users=users, stdout=io.StringIO())
    again = list(
        Deal.objects.order_by("id").values_list(
            "title", "amount", "currency", "stage__name", "owner__username"
        )
    )
    assert again == first
