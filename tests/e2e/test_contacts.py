"""In a real Chromium: find a contact with the global search, open it, log a call inline, see it in the feed."""

import pytest
from playwright.sync_api import expect

from contacts.models import Activity
from tests.contacts.factories import ContactFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_search_open_contact_and_log_a_call_inline(browser_login, sales_user):
    contact = ContactFactory(first_name="Margot", last_name="Fairbanks", owner=sales_user)
    page = browser_login(sales_user)

    page.fill("#global-search", "Fairbanks")
    page.locator("#search-results a", has_text="Margot Fairbanks").click()
    page.wait_for_url(f"**/contacts/{contact.pk}/")
    expect(page.locator("#contact-facts h1")).to_have_text("Margot Fairbanks")

    page.select_option("#activity_kind", "call")
    page.fill("#activity_subject", "Asked about the autumn coats")
    page.select_option("#activity_direction", "in")
    page.fill("#activity_duration_minutes", "7")
    page.click("#activity-submit")

    first_entry = page.locator("#activity-feed .activity-item").first
    expect(first_entry).to_contain_text("Asked about the autumn coats")
    expect(first_entry).to_contain_text("Call")
    expect(page.locator("#activity_subject")).to_have_value("")  # a fresh form, ready for the next entry
    assert page.url.endswith(f"/contacts/{contact.pk}/")  # no reload, no navigation
    activity = Activity.objects.get(contact=contact)
    assert (activity.kind, activity.direction, activity.duration_minutes) == ("call", "in", 7)


def test_inline_edit_shows_errors_then_saves(browser_login, sales_user):
    ContactFactory(email="taken@example.com")
    contact = ContactFactory(first_name="Ruth", last_name="Okafor", owner=sales_user)
    page = browser_login(sales_user)
    page.goto(contact.get_absolute_url())
    page.click("#contact-edit-inline")
    # htmx focuses the form's autofocus field once it settles; typing before that would race the focus move.
    expect(page.locator("#facts_first_name")).to_be_focused()
    page.fill("#facts_email", "taken@example.com")
    page.click("#contact-save")
    expect(page.locator("#contact-facts")).to_contain_text("Another contact already uses this email address.")
    expect(page.locator("#facts_email")).to_be_focused()  # the re-rendered form lands on the bad field
    page.fill("#facts_email", "ruth.okafor@example.com")
    page.select_option("#facts_lifecycle_stage", "customer")
    page.click("#contact-save")
    expect(page.locator("#contact-stage")).to_have_text("Customer")
    expect(page.locator("#contact-facts")).to_contain_text("ruth.okafor@example.com")
