"""The demo segments load, are idempotent, and fill through the real tracking pipeline."""

import io

import pytest

from contacts.models import Task
from segments.demo import DEMO_SEGMENTS, demo_load
from segments.models import Destination, Segment

from . import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_segments_load_twice_and_have_members(marketing_user):
    from profiles.models import Source

    Source.objects.create(name="Website", kind="website", write_key_hash="demo-hash", write_key_prefix="demo")
    owner = marketing_user
    contacts = [f.contact(email=f"shopper{i}@example.com", owner=owner) for i in range(20)]
    negotiating = contacts[0]
    f.deal(contact=negotiating, stage_name="Negotiation")

    out = io.StringIO()
    demo_load(users={"marketing": marketing_user}, stdout=out)
    demo_load(users={"marketing": marketing_user}, stdout=out)

    assert set(Segment.objects.values_list("name", flat=True)) == {name for name, _, _ in DEMO_SEGMENTS}
    carts = Segment.objects.get(name="Abandoned cart, last 24h")
    assert carts.member_count == 8
    hot = Segment.objects.get(name="Hot deals: Negotiation stage and visited pricing this week")
    assert hot.member_count == 1
    assert Destination.objects.count() == 3
    assert Task.objects.filter(title="Customer abandoned a cart: call", assignee=owner).count() == 8
    assert "4 demo segments" in out.getvalue()
