"""A marketer pastes a Shopify secret and sends a test event from the source page; the delivery is listed."""

import pytest

from profiles.models import Event, Source
from profiles.sources.services import source_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketer_sets_the_secret_and_sends_a_test_event(browser_login, marketing_user):
    source, _ = source_create(name="Shopify", kind=Source.Kind.SHOPIFY)
    page = browser_login(marketing_user)
    page.goto(f"/cdp/sources/{source.pk}/")
    panel = page.locator("[data-testid=connector-panel]")
    assert f"/v1/webhooks/{source.pk}/shopify" in panel.locator("#connector-url").input_value()
    assert panel.locator("[data-testid=secret-state]").inner_text() == "not set"
    panel.locator("input[name=secret]").fill("shpss_from_shopify")
    panel.locator("button[type=submit]", has_text="Save").click()
    page.wait_for_selector("[data-testid=connector-notice]")
    assert page.locator("[data-testid=secret-state]").inner_text() == "configured"
    page.click("[data-testid=connector-test]")
    page.wait_for_selector("[data-testid=deliveries]")
    assert "Test delivery accepted" in page.locator("[data-testid=connector-notice]").inner_text()
    assert "orders/create" in page.locator("[data-testid=deliveries]").inner_text()
    assert Event.objects.filter(source=source, name="Order Completed").count() == 1
