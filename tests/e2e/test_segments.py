"""A marketer builds a two-condition segment in the admin, previews its size, saves it and sees members."""

import pytest

from tests.segments import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketer_builds_previews_and_saves_a_segment(browser_login, marketing_user):
    buyer = f.profile(traits={"plan": "pro", "name": "Pat Pro"}, email="pat@example.com")
    f.event(buyer, "Product Added", category="shoes")
    f.profile(traits={"plan": "pro", "name": "Idle Ivy"})
    f.event(f.profile(traits={"plan": "free"}), "Product Added")

    page = browser_login(marketing_user)
    page.goto("/admin/segments/segment/add/")
    page.fill("#id_name", "Pro shoppers")
    page.click(".rb-add-condition")
    condition = page.locator(".rb-condition").nth(0)
    condition.locator(".rb-trait").fill("plan")
    condition.locator(".rb-trait").dispatch_event("change")
    condition.locator(".rb-op").select_option("eq")
    condition.locator(".rb-input").fill("pro")
    page.click(".rb-add-condition")
    second = page.locator(".rb-condition").nth(1)
    second.locator(".rb-kind").select_option("event")
    second.locator(".rb-event").fill("Product Added")
    second.locator(".rb-event").dispatch_event("change")

    page.click(".rule-builder-preview-btn")
    page.wait_for_selector(".rb-count-result")
    assert page.inner_text(".rb-count-result") == "About 1 matching profile right now."
    assert "Pat Pro" in page.inner_text(".rb-sample")
    assert page.inner_text(".rule-builder-sentence") == "plan is “pro” and did “Product Added”"

    page.click("input[name=_save]")
    page.wait_for_url("**/admin/segments/segment/")
    page.click("text=Pro shoppers")
    page.click("text=Open the segment page")
    page.wait_for_selector("#members")
    assert "pat@example.com" in page.inner_text("#members")
    assert page.inner_text("#member-count") == "1"


def test_marketer_builds_a_segment_on_a_computed_trait(browser_login, marketing_user):
    big = f.profile(traits={"name": "Big Spender"}, email="big@example.com")
    big.computed_traits = {"total_events": 42}
    big.save(update_fields=["computed_traits"])
    small = f.profile(traits={"name": "Window Shopper"})
    small.computed_traits = {"total_events": 3}
    small.save(update_fields=["computed_traits"])

    page = browser_login(marketing_user)
    page.goto("/admin/segments/segment/add/")
    page.fill("#id_name", "Very active")
    page.click(".rb-add-condition")
    condition = page.locator(".rb-condition").nth(0)
    condition.locator(".rb-kind").select_option("computed_trait")
    condition.locator(".rb-trait").fill("total_events")
    condition.locator(".rb-trait").dispatch_event("change")
    condition.locator(".rb-op").select_option("gte")
    condition.locator(".rb-input").fill("10")
    page.click(".rule-builder-preview-btn")
    page.wait_for_selector(".rb-count-result")
    assert page.inner_text(".rb-count-result") == "About 1 matching profile right now."
    assert "Big Spender" in page.inner_text(".rb-sample")
    assert page.inner_text(".rule-builder-sentence") == "total_events ≥ 10"
