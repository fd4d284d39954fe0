"""In a real Chromium: global search with the keyboard, and the type-ahead pickers of the deal forms."""

import pytest
from playwright.sync_api import expect

from pipeline.models import Deal
from tests.contacts.factories import CompanyFactory, ContactFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_global_search_results_are_reachable_with_the_arrow_keys(browser_login, sales_user):
    ContactFactory(first_name="Arrow", last_name="Keys", email="arrow@keys.example")
    CompanyFactory(name="Arrowhead Supplies")
    page = browser_login(sales_user)
    page.click("#global-search")
    page.keyboard.type("arrow")
    options = page.locator("#search-results [role=option]")
    expect(options).to_have_count(2)
    page.keyboard.press("ArrowDown")
    expect(options.nth(0)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(options.nth(1)).to_be_focused()
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(page.locator("#global-search")).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url("**/contacts/*/")
    expect(page.locator("h1")).to_contain_text("Arrow Keys")


def test_the_deal_form_picks_a_contact_by_typing_and_the_edit_form_keeps_it(browser_login, sales_user):
    ContactFactory(first_name="Nadia", last_name="Namesake", email="nadia@one.example")
    wanted = ContactFactory(first_name="Nadia", last_name="Namesake", email="nadia@two.example")
    page = browser_login(sales_user)
    page.goto("/deals/new/")
    page.fill("#id_title", "Picked by typing")
    page.click("#id_contact + .ts-wrapper .ts-control")
    page.keyboard.type("namesake")
    options = page.locator("#id_contact-ts-dropdown .option")
    expect(options).to_have_count(2)
    expect(page.locator("#id_contact-ts-dropdown")).to_contain_text("nadia@two.example")
    target = options.filter(has_text="nadia@two.example")
    while "active" not in (target.get_attribute("class") or ""):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.click("main button[type=submit]")
    page.wait_for_url("**/deals/*/")
    deal = Deal.objects.get(title="Picked by typing")
    assert deal.contact == wanted
    page.goto(f"/deals/{deal.pk}/edit/")
    expect(page.locator("#id_contact + .ts-wrapper .ts-control")).to_contain_text("Nadia Namesake")
    page.fill("#id_title", "Renamed, contact untouched")
    with page.expect_response(
        lambda r: r.url.endswith(f"/deals/{deal.pk}/edit/") and r.request.method == "POST"
    ):
        page.click("main button[type=submit]")
    expect(page.locator("#toasts")).to_contain_text("Deal saved.")
    deal.refresh_from_db()
    assert deal.title == "Renamed, contact untouched" and deal.contact == wanted
