"""A website's write key is public: copyable on its source page, and in the snippet instead of WRITE_KEY."""

import datetime

import pytest

from profiles.models import Event, Source
from profiles.sources import services
from tests.profiles.factories import make_source

pytestmark = pytest.mark.django_db


def test_a_website_keeps_its_key_readable_and_the_snippet_carries_it(marketing_client):
    source, key = make_source(name="Shop site", kind=Source.Kind.WEBSITE)
    html = marketing_client.get(source.get_absolute_url()).content.decode()
    assert f'id="public-write-key" value="{key}"' in html and 'data-copy="#public-write-key"' in html
    assert f"analytics.load(&quot;{key}&quot;)" in html and "WRITE_KEY" not in html.split('id="snippet"')[1]
    new_key = services.source_rotate_key(source=source)
    assert Source.objects.get(pk=source.pk).public_write_key == new_key


def test_a_server_source_keeps_only_the_hash(marketing_client):
    source, key = make_source(name="Backend", kind=Source.Kind.SERVER)
    html = marketing_client.get(source.get_absolute_url()).content.decode()
    assert key not in html, html[html.index(key) - 300 : html.index(key) + 50]
    assert "analytics.load(&quot;WRITE_KEY&quot;)" in html
    website, site_key = make_source(name="Was a site", kind=Source.Kind.WEBSITE)
    services.source_update(source=website, kind=Source.Kind.SERVER)
    assert Source.objects.get(pk=website.pk).public_write_key == ""


def test_latest_events_are_shown_in_time_order(marketing_client):
    source, _ = make_source(name="Late batches", kind=Source.Kind.SERVER)
    start = datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)
    # Stored in this order (by id), but they happened in another: a late batch arrived after a newer one.
    for minutes, name in ((30, "Third"), (10, "First"), (20, "Second")):
        at = start + datetime.timedelta(minutes=minutes)
        Event.objects.create(
            source=source, message_id=name, type="track", name=name, timestamp=at, received_at=at
        )
    html = marketing_client.get(source.get_absolute_url()).content.decode()
    latest = html.split("Latest events")[1]
    assert latest.index("Third") < latest.index("Second") < latest.index("First")
