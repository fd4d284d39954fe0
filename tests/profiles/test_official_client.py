"""Segment's own Python library, with only its host changed, delivers every call type to us."""

import pytest
import segment.analytics as analytics
from segment.analytics.request import APIError

from profiles.models import Event, Profile

from .factories import make_source

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def segment_client(live_server):
    # sync_mode: each call is posted (gzip, Basic auth, to /v1/batch) before it returns; errors raise.
    return analytics.Client(write_key="unset", host=live_server.url, sync_mode=True, gzip=True, max_retries=0)


def test_segment_analytics_python_sends_every_call_type(segment_client):
    client = segment_client
    _, key = make_source(name="Shop backend", kind="server")
    client.write_key = key

    client.identify("user-42", {"email": "Kim@Example.com", "plan": "gold"})
    client.track("user-42", "Order Completed", {"revenue": 99.5, "currency": "EUR"})
    client.page("user-42", "Shop", "Checkout", {"url": "https://shop.example/checkout?utm_source=mail"})
    client.screen("user-42", "App", "Basket")
    client.group("user-42", "acme", {"name": "Acme"})
    client.alias("anon-1", "user-42")

    assert sorted(Event.objects.values_list("type", flat=True)) == sorted(
        ["identify", "track", "page", "screen", "group", "alias"]
    )
    order = Event.objects.get(type="track")
    assert order.name == "Order Completed" and order.properties == {"revenue": 99.5, "currency": "EUR"}
    assert order.context["library"]["name"] == "analytics-python"
    assert Event.objects.get(type="page").context["campaign"] == {"source": "mail"}
    assert Profile.objects.get().traits["email"] == "Kim@Example.com"


def test_segment_analytics_python_wrong_key_reports_an_error(segment_client):
    client = segment_client
    client.write_key = "not-a-key"
    with pytest.raises(APIError) as error:
        client.track("user-1", "Signed Up")
    assert error.value.status == 401
    assert error.value.message == "invalid write key"
    assert not Event.objects.exists()
