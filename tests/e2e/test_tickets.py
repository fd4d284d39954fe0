"""In a real browser: an agent opens a ticket, posts an internal note and a public reply, and solves it."""

import pytest
from playwright.sync_api import expect

from tests.tickets.factories import ContactFactory, ticket_make
from tickets.models import Ticket

pytestmark = pytest.mark.browser


def test_agent_works_a_ticket_from_the_queue(browser_login, support_user):
    ticket = ticket_make(
        user=support_user,
        contact=ContactFactory(first_name="Nora", email="nora@example.com"),
        subject="Lamp arrived broken",
        body="The shade is cracked.",
    )
    page = browser_login(support_user)
    page.goto("/tickets/")
    page.get_by_role("link", name="Lamp arrived broken").click()
    expect(page.get_by_role("heading", name="Lamp arrived broken")).to_be_visible()
    expect(page.locator("#thread")).to_contain_text("The shade is cracked.")

    page.fill("#id_body", "Customer is Gold tier; offer express replacement.")
    page.get_by_role("button", name="Add internal note").click()
    note = page.locator("#thread .internal-note")
    expect(note).to_contain_text("Customer is Gold tier")
    expect(note).to_contain_text("Internal note")

    page.fill("#id_body", "Sorry about that! A new lamp ships today.")
    page.get_by_role("button", name="Send public reply").click()
    reply = page.locator("#thread .from-staff")
    expect(reply).to_contain_text("A new lamp ships today.")
    expect(page.locator("[data-testid=ticket-status]")).to_have_text("Open")

    page.select_option("#prop-status", "solved")
    expect(page.locator("[data-testid=ticket-status]")).to_have_text("Solved")
    expect(page.locator("#ticket-history")).to_contain_text("Open → Solved")

    ticket.refresh_from_db()
    assert ticket.status == "solved" and ticket.first_responded_at is not None
    assert Ticket.objects.get().messages.filter(internal=True).count() == 1


def test_queue_sla_badges_count_down_and_turn_breached(browser_login, support_user):
    ticket_make(user=support_user, subject="Urgent lamp", priority="urgent")
    page = browser_login(support_user)
    page.goto("/tickets/")
    badge = page.locator("tr", has_text="Urgent lamp").locator(".sla-badge")
    expect(badge).to_have_attribute("data-sla-state", "at_risk")  # 30 min first-response target
    page.evaluate(
        "() => { document.querySelector('.sla-badge[data-due]').dataset.due = Date.now() - 150000;"
        " window.cdpcrmSlaTick(); }"
    )
    expect(badge).to_have_text("Breached · 2m over")
    expect(badge).to_have_class("badge sla-badge text-bg-danger")
