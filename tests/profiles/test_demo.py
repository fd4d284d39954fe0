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
