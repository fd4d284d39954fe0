"""In a real Chromium, by keyboard only: create an API token, see its key once, use it, revoke it."""

import pytest
from playwright.sync_api import expect

from tests.conftest import _user_in_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_token_is_made_and_revoked_with_the_keyboard(browser_login, live_server):
    import urllib.error
    import urllib.request

    page = browser_login(_user_in_role("Sales", username="kb-sales"))
    page.goto("/accounts/api-tokens/")
    expect(page.locator("#token-empty")).to_be_visible()
    page.locator("#id_name").focus()
    page.keyboard.type("warehouse sync")
    page.keyboard.press("Tab")  # the scope select; read only is the default
    page.keyboard.press("Tab")  # the expiry day, optional
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # "Create token"
    key = page.locator("#new-token-key").input_value()
    assert key.startswith("cdp_")
    expect(page.locator("#token-table")).to_contain_text("warehouse sync")
    request = urllib.request.Request(  # noqa: S310 (the live server of the test)
        f"{live_server.url}/api/contacts/", headers={"Authorization": f"Token {key}"}
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310
        assert response.status == 200
    page.reload()
    expect(page.locator("#new-token-key")).to_have_count(0)  # shown once
    expect(page.locator("#token-table tbody tr")).to_have_count(1)  # the reload made no second token
    revoke = page.get_by_role("button", name="Revoke token warehouse sync")
    revoke.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#token-table")).to_contain_text("revoked")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)  # noqa: S310
    assert refused.value.code == 401
