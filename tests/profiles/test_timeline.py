"""The unified timeline on the contact page: interleaving, filters, keyset pages, fixed query count."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from contacts.models import LoyaltyNote
from profiles.models import Event, Profile
from profiles.unify.timeline import Cursor, timeline_page
from tests.contacts.factories import ActivityFactory, ContactFactory, LoyaltyAccountFactory, TaskFactory
from tests.pipeline.factories import deal_make
from tests.tickets.factories import ticket_make

from .factories import make_source

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _events(profile, source, count: int, *, start: datetime = T0, name="Product Viewed") -> None:
    Event.objects.bulk_create(
        [
            Event(
                source=source,
                profile=profile,
                message_id=f"{name}-{profile.pk}-{n}",
                type="track",
                name=name,
                user_id="u1",
                timestamp=start + timedelta(minutes=n),
                received_at=start + timedelta(minutes=n),
                properties={"sku": f"SKU-{n}", "price": n},
            )
            for n in range(count)
        ]
    )


@pytest.fixture
def person(sales_user):
    contact = ContactFactory(email="tess@example.com")
    profile = Profile.objects.create(contact=contact, traits={"email": "tess@example.com"})
    return contact, profile


def _crm_history(contact, user) -> None:
    ActivityFactory(contact=contact, occurred_at=T0 + timedelta(minutes=30, seconds=1), subject="Intro call")
    TaskFactory(contact=contact, title="Send catalogue")
    deal_make(user=user, contact=contact, title="Spring order")
    ticket_make(contact=contact, subject="Parcel late")
    account = LoyaltyAccountFactory(contact=contact)
    LoyaltyNote.objects.create(
        account=account, kind="earned", points_delta=50, created_at=T0 + timedelta(hours=5)
    )


def test_timeline_interleaves_events_and_crm_rows_newest_first(person, sales_user):
    contact, profile = person
    source = make_source()[0]
    _events(profile, source, 60)
    _crm_history(contact, sales_user)
    items = []
    cursor = None
    while True:
        page = timeline_page(profile=profile, contact=contact, cursor=Cursor.decode(cursor), limit=25)
        items += page.items
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(items) == 60 + 5
    keys = [(i.time, i.kind, i.id) for i in items]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys)
    assert {i.kind for i in items} == {"event", "activity", "task", "deal", "ticket", "loyalty"}
    activity = next(i for i in items if i.kind == "activity")
    position = items.index(activity)
    assert items[position + 1].time <= activity.time <= items[position - 1].time
    event = next(i for i in items if i.kind == "event")
    assert event.summary == "Product Viewed" and "sku" in event.details and event.icon == "tag"


def test_filters_by_kind_and_channel(person, sales_user):
    contact, profile = person
    web, app = make_source(name="Web")[0], make_source(name="App")[0]
    _events(profile, web, 3)
    _events(profile, app, 2, name="App Opened")
    _crm_history(contact, sales_user)
    by_channel = timeline_page(profile=profile, contact=contact, channel=str(app.pk)).items
    assert [i.summary for i in by_channel] == ["App Opened", "App Opened"]
    crm = timeline_page(profile=profile, contact=contact, channel="crm").items
    assert len(crm) == 5 and all(i.kind != "event" for i in crm)
    deals = timeline_page(profile=profile, contact=contact, kind="deal").items
    assert [i.kind for i in deals] == ["deal"] and "Spring order" in deals[0].summary


@pytest.mark.parametrize("count", [0, 50, 10_000])
def test_contact_timeline_page_runs_a_fixed_number_of_queries(
    person, sales_user, sales_client, django_assert_num_queries, count
):
    contact, profile = person
    if count:
        _events(profile, make_source()[0], count)
        _crm_history(contact, sales_user)
    url = reverse("profiles:contact_timeline", args=[contact.pk])
    # session + user + permissions, contact, profile, channels, 6 timeline sources + the journey path
    # lines registered by segments.journeys (one query each)
    with django_assert_num_queries(14):
        response = sales_client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    if count:
        cursor = re.search(r"cursor=([^&\"]+)", response.content.decode()).group(1)
        with django_assert_num_queries(14):
            second = sales_client.get(url + f"?cursor={cursor}", headers={"HX-Request": "true"})
        assert second.status_code == 200 and "timeline-item" in second.content.decode()
    else:
        assert "No history yet" in response.content.decode()


def test_next_page_continues_where_the_first_ended(person, sales_client):
    contact, profile = person
    _events(profile, make_source()[0], 40)
    url = reverse("profiles:contact_timeline", args=[contact.pk])
    first = sales_client.get(url).content.decode()
    cursor = re.search(r'cursor=([^&"]+)', first).group(1)
    second = sales_client.get(url + f"?cursor={cursor}").content.decode()
    assert first.count('class="timeline-item') == 25
    assert second.count('class="timeline-item') == 15 and "cursor=" not in second
    assert "SKU-39" in first and "SKU-14" in second and "SKU-15" not in second


def test_contact_page_shows_timeline_tab_and_cdp_panel(person, sales_client):
    contact, profile = person
    page = sales_client.get(reverse("contacts:contact_detail", args=[contact.pk])).content.decode()
    assert reverse("profiles:contact_timeline", args=[contact.pk]) in page
    assert reverse("profiles:contact_cdp", args=[contact.pk]) in page
    cdp = sales_client.get(reverse("profiles:contact_cdp", args=[contact.pk])).content.decode()
    assert "tess@example.com" in cdp and profile.get_absolute_url() in cdp


def test_timeline_needs_the_view_profile_permission(person, client, django_user_model):
    contact, _ = person
    user = django_user_model.objects.create_user("nobody", password="x")
    client.force_login(user)
    assert client.get(reverse("profiles:contact_timeline", args=[contact.pk])).status_code == 403


SHADOWING = {
    "items": [{"sku": "A", "qty": 2}],
    "keys": "k",
    "values": "v",
    "get": "g",
    "count": 3,
    "pop": "p",
}


@pytest.mark.parametrize("page", ["contact", "profile"])
def test_property_names_that_shadow_dict_methods_render(person, sales_client, page):
    # GA4-style carts send "items"; the template must list properties, not read one named like a method.
    contact, profile = person
    Event.objects.create(
        source=make_source(name="Shop")[0],
        profile=profile,
        message_id="cart-1",
        type="track",
        name="Cart Viewed",
        timestamp=T0 + timedelta(days=30),
        received_at=T0 + timedelta(days=30),
        properties=SHADOWING,
        traits={"items": "t"},
    )
    if page == "contact":
        url = reverse("profiles:contact_timeline", args=[contact.pk])
    else:
        url = reverse("profiles:profile_timeline", args=[profile.pk])
    response = sales_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    for name in SHADOWING:
        assert f">{name}</dt>" in html
    assert "&#x27;sku&#x27;: &#x27;A&#x27;" in html and ">trait items</dt>" in html
