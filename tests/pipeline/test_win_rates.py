"""Win rates per owner and open deals by stage, against hand-computed figures."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from pipeline import selectors
from pipeline.models import Deal
from tests.factories import UserFactory

from .factories import deal_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_book(sales_user):
    bob = UserFactory(username="bob", first_name="Bob", last_name="Closer")
    for amount in ("1000", "3000", "2000"):
        deal_make(user=sales_user, stage_name="Won", amount=amount)
    deal_make(user=sales_user, stage_name="Won", amount="500", currency="EUR")  # counted, not summed in USD
    deal_make(user=sales_user, stage_name="Lost", amount="9000")
    deal_make(user=bob, stage_name="Lost", amount="100")
    old = deal_make(user=bob, stage_name="Won", amount="7000")
    Deal.objects.filter(pk=old.pk).update(closed_at=timezone.now() - datetime.timedelta(days=400))
    deal_make(user=bob, stage_name="Proposal", amount="4000")
    deal_make(user=bob, stage_name="Negotiation", amount="2000")
    deal_make(user=sales_user, stage_name="Negotiation", amount="1000")
    return sales_user, bob


def test_win_rate_per_owner_and_total(closed_book):
    alice, bob = closed_book
    rows, total = selectors.win_rates(since=timezone.now() - datetime.timedelta(days=365))
    by_owner = {row.owner: row for row in rows}
    # Alice: 4 won (3 USD + 1 EUR), 1 lost -> 80 %; USD won 6000, average of the 3 USD wins = 2000.
    alice_row = by_owner[alice]
    assert (alice_row.won, alice_row.lost, alice_row.rate) == (4, 1, 80.0)
    assert (alice_row.won_amount, alice_row.average_won) == (Decimal("6000"), Decimal("2000.00"))
    # Bob: the 400-day-old win is outside the year; 0 won, 1 lost -> 0 %.
    assert (by_owner[bob].won, by_owner[bob].lost, by_owner[bob].rate) == (0, 1, 0.0)
    assert (total.won, total.lost, total.rate) == (4, 2, 66.7)


def test_deals_by_stage_counts_and_weights_open_deals(closed_book):
    rows = {row.stage.name: row for row in selectors.deals_by_stage()}
    assert list(rows) == ["Lead-in", "Qualified", "Proposal", "Negotiation"]
    assert (rows["Proposal"].count, rows["Proposal"].amount, rows["Proposal"].weighted) == (
        1,
        Decimal("4000"),
        Decimal("2000.00"),
    )
    assert (rows["Negotiation"].count, rows["Negotiation"].amount, rows["Negotiation"].weighted) == (
        2,
        Decimal("3000"),
        Decimal("2250.00"),
    )
    assert rows["Lead-in"].count == 0


def test_win_rate_page_renders_for_support_and_is_in_reports(closed_book, support_client):
    html = support_client.get("/deals/win-rates/?days=365").content.decode()
    assert "80.0%" in html and "Bob Closer" in html and "Negotiation" in html
    assert "/deals/win-rates/" in support_client.get("/reports/").content.decode()
