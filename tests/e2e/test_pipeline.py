"""In a real Chromium: drag a deal card to another column, see it persist after a reload; Lost asks why."""

import pytest
from playwright.sync_api import expect

from pipeline.models import Deal
from tests.contacts.factories import CompanyFactory
from tests.pipeline.factories import deal_make, stage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _drag(page, card_selector: str, target_selector: str) -> None:
    """Real mouse moves (SortableJS in fallback mode follows mousedown/mousemove/mouseup)."""
    card = page.locator(card_selector)
    card.scroll_into_view_if_needed()
    source = card.bounding_box()
    target = page.locator(target_selector).bounding_box()
    # Grab the card's lower part (not the title link), drop in the middle of the target list.
    x, y = source["x"] + source["width"] / 2, source["y"] + source["height"] - 8
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 10, y + 10, steps=5)
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + 40, steps=20)
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + 48, steps=5)
    page.mouse.up()


def test_drag_card_to_another_column_survives_reload(browser_login, sales_user):
    deal = deal_make(
        user=sales_user, title="Drag me to Proposal", company=CompanyFactory(name="Atelier Nord")
    )
    proposal = stage("Proposal")
    page = browser_login(sales_user)
    page.goto("/deals/")
    expect(page.locator(f"#stage-list-{stage('Lead-in').pk} #deal-{deal.pk}")).to_be_visible()

    with page.expect_response(lambda r: r.url.endswith(f"/deals/{deal.pk}/move/") and r.status == 200):
        _drag(page, f"#deal-{deal.pk}", f"#stage-list-{proposal.pk}")
    expect(page.locator(f"#stage-head-{proposal.pk} [data-role=count]")).to_have_text("1")
    expect(page.locator("#toasts")).to_contain_text("moved to Proposal")

    page.reload()
    expect(page.locator(f"#stage-list-{proposal.pk} #deal-{deal.pk}")).to_be_visible()
    assert Deal.objects.get(pk=deal.pk).stage == proposal
    assert deal.stage_changes.filter(to_stage_name="Proposal", changed_by=sales_user).exists()


def test_drop_on_lost_asks_for_the_reason_and_cancel_reverts(browser_login, sales_user):
    deal = deal_make(user=sales_user, title="Maybe lost")
    lost, lead_in = stage("Lost"), stage("Lead-in")
    page = browser_login(sales_user)
    page.goto("/deals/")

    _drag(page, f"#deal-{deal.pk}", f"#stage-list-{lost.pk}")
    expect(page.locator("#lost-modal")).to_be_visible()
    page.click("#lost-modal .btn-outline-secondary")
    expect(page.locator(f"#stage-list-{lead_in.pk} #deal-{deal.pk}")).to_be_visible()

    _drag(page, f"#deal-{deal.pk}", f"#stage-list-{lost.pk}")
    expect(page.locator("#lost-modal")).to_be_visible()
    page.fill("#lost-reason", "Chose a competitor")
    with page.expect_response(lambda r: r.url.endswith(f"/deals/{deal.pk}/move/")):
        page.click("#lost-submit")
    expect(page.locator(f"#stage-list-{lost.pk} #deal-{deal.pk}")).to_be_visible()
    deal.refresh_from_db()
    assert (deal.stage, deal.lost_reason) == (lost, "Chose a competitor")


def test_dragging_near_the_edge_scrolls_the_board_to_the_lost_column(browser_login, sales_user):
    """At 1440x900 the Lost column starts off-screen; holding a card at the right edge brings it in."""
    deal = deal_make(user=sales_user, title="Far away")
    lost = stage("Lost")
    page = browser_login(sales_user)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto("/deals/")
    column = page.locator(f"#stage-list-{lost.pk}")
    assert column.bounding_box()["x"] + 40 > 1440  # not reachable without scrolling
    source = page.locator(f"#deal-{deal.pk}").bounding_box()
    x, y = source["x"] + source["width"] / 2, source["y"] + source["height"] - 8
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 10, y + 10, steps=5)
    page.mouse.move(1430, y + 20, steps=15)
    page.wait_for_function(
        "id => { const r = document.getElementById(id).getBoundingClientRect(); return r.right <= 1440; }",
        arg=f"stage-list-{lost.pk}",
        timeout=8000,
    )
    target = column.bounding_box()
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + 40, steps=10)
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + 48, steps=3)
    page.mouse.up()
    expect(page.locator("#lost-modal")).to_be_visible()
    page.fill("#lost-reason", "Too far")
    with page.expect_response(lambda r: r.url.endswith(f"/deals/{deal.pk}/move/")):
        page.click("#lost-submit")
    expect(page.locator(f"#stage-list-{lost.pk} #deal-{deal.pk}")).to_be_visible()
    assert Deal.objects.get(pk=deal.pk).stage == lost


def test_a_long_column_loads_more_cards_when_scrolled(browser_login, sales_user):
    from decimal import Decimal

    from pipeline.models import Deal as DealModel

    lead_in = stage("Lead-in")
    company = CompanyFactory()
    DealModel.objects.bulk_create(
        DealModel(
            title=f"Card {i:03d}",
            amount=Decimal(10),
            pipeline=lead_in.pipeline,
            stage=lead_in,
            company=company,
        )
        for i in range(120)
    )
    page = browser_login(sales_user)
    page.goto("/deals/")
    cards = page.locator(f"#stage-list-{lead_in.pk} .deal-card")
    expect(cards).to_have_count(50)
    page.locator(f"#stage-list-{lead_in.pk}").evaluate("list => list.scrollTop = list.scrollHeight")
    expect(cards).to_have_count(100)
    page.locator(f"#stage-list-{lead_in.pk}").evaluate("list => list.scrollTop = list.scrollHeight")
    expect(cards).to_have_count(120)
    titles = cards.all_inner_texts()
    assert len({t.split("\n")[0] for t in titles}) == 120
