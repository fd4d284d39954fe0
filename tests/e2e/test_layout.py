"""In a real Chromium: the UI faults found in review stay fixed (top bar at 1280 px, phone layouts, stale timeline)."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from profiles.models import Event, Identity, Profile
from segments import services as segment_services
from segments.models import Segment
from tests.conftest import _user_in_role
from tests.contacts.factories import ContactFactory
from tests.profiles.factories import make_source
from tests.tickets.factories import ticket_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_SEGMENT = (
    "Customers who viewed the autumn lookbook twice and opened every newsletter since the spring sale ended"
)


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("role", ["Sales", "Support", "Marketing", "Admin"])
def test_the_top_bar_fits_1280_px_and_log_out_stays_reachable(browser_login, role):
    user = _user_in_role(role, username=f"bar-{role.lower()}")
    page = browser_login(user)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/")
    assert _overflow(page) <= 1280
    page.click("#user-menu")
    logout = page.locator("button:has-text('Log out')")
    expect(logout).to_be_visible()
    box = logout.bounding_box()
    assert box["x"] + box["width"] <= 1280
    with page.expect_navigation():
        logout.click()
    assert "/accounts/login/" in page.url or page.locator("#id_username").count()


def _contact_with_history(owner):
    contact = ContactFactory(first_name="Lena", last_name="Longname", email="lena@example.com", owner=owner)
    profile = Profile.objects.create(contact=contact, traits={"email": "lena@example.com", "tier": "vip"})
    Identity.objects.create(kind="email", value="lena@example.com", profile=profile)
    source = make_source(name="Website")[0]
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    Event.objects.bulk_create(
        Event(
            source=source, profile=profile, message_id=f"m{n}", type="page", name="Viewed",
            timestamp=start + timedelta(hours=n), received_at=start + timedelta(hours=n),
            properties={"url": "https://shop.example/collections/" + "autumn-lookbook-" * 8 + str(n)},
        )
        for n in range(5)
    )  # fmt: skip
    segment = Segment.objects.create(name=LONG_SEGMENT, rule={"trait": "tier", "op": "eq", "value": "vip"})
    segment_services.segment_recompute(segment_id=segment.pk)
    return contact, segment


def test_a_phone_shows_the_contact_timeline_and_long_badges_without_sideways_scrolling(
    browser_login, sales_user
):
    contact, segment = _contact_with_history(sales_user)
    page = browser_login(sales_user)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(contact.get_absolute_url())
    expect(page.locator("#panel-segments")).to_contain_text(LONG_SEGMENT[:30])
    page.click("#panel-timeline-btn")
    expect(page.locator("#timeline .timeline-item").first).to_be_visible()
    assert _overflow(page) <= 390
    page.goto(f"/segments/{segment.pk}/")
    assert _overflow(page) <= 390
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(contact.get_absolute_url())
    expect(page.locator("#panel-segments")).to_contain_text(LONG_SEGMENT[:30])
    assert _overflow(page) <= 1280


def test_a_phone_gets_ticket_cards_with_status_and_sla_near_the_top(browser_login, support_user):
    for i in range(5):
        ticket_make(user=support_user, subject=f"Parcel {i} never arrived", priority="high")
    page = browser_login(support_user)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/tickets/")
    card = page.locator(".list-cards .list-card").first
    expect(card).to_be_visible()
    box = card.bounding_box()
    assert box["y"] < 450  # not behind a thousand pixels of filters
    for badge in card.locator(".ticket-card-badges .badge").all():
        right = badge.bounding_box()["x"] + badge.bounding_box()["width"]
        assert right <= 390
    expect(card.locator(".sla-badge")).to_be_visible()
    assert _overflow(page) <= 390
    page.click("#queue-filters-toggle")
    expect(page.locator("#queue-filters")).to_be_visible()


def test_logging_a_call_refreshes_the_timeline_tab_without_htmx_errors(browser_login, sales_user):
    contact, _ = _contact_with_history(sales_user)
    page = browser_login(sales_user)
    errors = []
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type in ("error", "warning") else None,
    )
    page.evaluate(
        "document.body.addEventListener('htmx:oobErrorNoTarget', () => console.error('oobErrorNoTarget'))"
    )
    page.goto(contact.get_absolute_url())
    page.evaluate(
        "document.body.addEventListener('htmx:oobErrorNoTarget', () => console.error('oobErrorNoTarget'))"
    )
    page.click("#panel-timeline-btn")
    expect(page.locator("#timeline .timeline-item").first).to_be_visible()
    page.click("#tab-activity-btn")
    for subject in ("First call", "Second call"):
        page.select_option("#activity_kind", "call")
        page.fill("#activity_subject", subject)
        with page.expect_response(lambda r: "/activities/" in r.url and r.request.method == "POST"):
            page.click("#activity-submit")
        expect(page.locator("#activity-feed")).to_contain_text(subject)
    page.click("#panel-timeline-btn")
    expect(page.locator("#timeline")).to_contain_text("Second call")
    assert not [e for e in errors if "oobErrorNoTarget" in e]
