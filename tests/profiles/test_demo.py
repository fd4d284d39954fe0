"""The demo sends its history through the real pipeline, and a second run stores nothing new."""

import io

import pytest
from django.utils import timezone

from contacts.models import Contact
from profiles.demo import demo_load
from profiles.models import Event, Identity, Source

pytestmark = pytest.mark.django_db


def test_demo_loads_sources_and_events_idempotently(django_capture_on_commit_callbacks):
    for n in range(8):
        Contact.objects.create(first_name=f"P{n}", last_name="Demo", email=f"p{n}@modish.example")

    with django_capture_on_commit_callbacks(execute=True):
        demo_load(users={}, stdout=io.StringIO())
    first = Event.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        demo_load(users={}, stdout=io.StringIO())

    assert Source.objects.count() == 6
    assert first > 100 and Event.objects.count() == first
    assert not Event.objects.filter(timestamp__gt=timezone.now()).exists(), "no demo event lies in the future"
    assert Identity.objects.filter(kind="email", value="p0@modish.example").exists()
    assert set(Event.objects.values_list("source__name", flat=True)) >= {
        "Website",
        "Shop backend",
        "Store POS (offline)",
    }
    pos = Event.objects.filter(source__name="Store POS (offline)").first()
    assert pos.profile.identities.filter(kind="email").exists()


def test_demo_shows_the_edge_cases_clients_send(django_capture_on_commit_callbacks):
    from profiles.models import IngestError, Profile

    with django_capture_on_commit_callbacks(execute=True):
        demo_load(users={}, stdout=io.StringIO())
    assert Profile.objects.get(identities__value="demo-rudder-1").traits["plan"] == "gold"
    assert Event.objects.get(message_id="demo-edge-cart").properties["items"][0]["item_id"] == "SKU-1002"
    assert Event.objects.get(message_id="demo-edge-nul").properties == {"query": "boots", "ref": "x\ufffd"}
    reasons = set(IngestError.objects.filter(source__name="Website").values_list("message_id", "reason"))
    assert any(m == "demo-edge-huge" and r.startswith("the event is larger than 32 KB") for m, r in reasons)
    assert any(m == "demo-edge-date" and "not an ISO-8601 date" in r for m, r in reasons)
