"""In a real Chromium: open a contact, scroll the unified timeline past its first page, then filter it."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from profiles.models import Event, Profile
from tests.contacts.factories import ActivityFactory, ContactFactory
from tests.profiles.factories import make_source

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_scroll_the_timeline_past_the_first_page_and_filter_it(browser_login, sales_user):
    contact = ContactFactory(
        first_name="Iris", last_name="Kowalski", email="iris@example.com", owner=sales_user
    )
    profile = Profile.objects.create(contact=contact, traits={"email": "iris@example.com"})
    web, app = make_source(name="Website")[0], make_source(name="iOS app")[0]
    Event.objects.bulk_create(
        [
            Event(
                source=web if n % 2 else app,
                profile=profile,
                message_id=f"e{n}",
                type="track",
                name="Product Viewed" if n % 2 else "Application Opened",
                timestamp=T0 + timedelta(hours=n),
                received_at=T0 + timedelta(hours=n),
                properties={"sku": f"SKU-{n}"},
            )
            for n in range(40)
        ]
    )
    ActivityFactory(contact=contact, subject="Called about sizes", occurred_at=T0 - timedelta(hours=1))

    page = browser_login(sales_user)
    page.goto(contact.get_absolute_url())
    page.click("#panel-timeline-btn")
    items = page.locator("#timeline .timeline-item")
    expect(items).to_have_count(25)
    expect(items.first).to_contain_text("Product Viewed")

    page.locator("#timeline .timeline-more").scroll_into_view_if_needed()
    expect(items).to_have_count(41)
    expect(items.last).to_contain_text("Called about sizes")

    items.first.locator("summary").click()
    expect(items.first.locator("details dl")).to_contain_text("SKU-39")

    page.select_option("#timeline-channel", "crm")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("Called about sizes")
    page.select_option("#timeline-channel", "")
    page.select_option("#timeline-kind", "event")
    expect(items).to_have_count(25)
    expect(page.locator("#timeline .timeline-item[data-kind=activity]")).to_have_count(0)
