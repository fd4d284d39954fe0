"""The board at size: first cards per column, more by keyset pages, won/lost recent, SQL totals, cheap moves."""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from pipeline import selectors
from pipeline.models import Deal, ExchangeRate, Stage
from tests.contacts.factories import CompanyFactory

from .factories import deal_make, sales_pipeline, stage

pytestmark = pytest.mark.django_db


def _fill(stage_obj: Stage, count: int, *, currency: str = "USD", closed: bool = False, dated: bool = True):
    company = CompanyFactory()
    now = datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC)
    return Deal.objects.bulk_create(
        Deal(
            title=f"{stage_obj.name} {i:03d}",
            amount=Decimal(100 + i),
            currency=currency,
            pipeline=stage_obj.pipeline,
            stage=stage_obj,
            company=company,
            expected_close_date=datetime.date(2026, 6, 1) + datetime.timedelta(days=i % 7) if dated else None,
            closed_at=now + datetime.timedelta(hours=i) if closed else None,
            lost_reason="Price" if stage_obj.kind == Stage.Kind.LOST else "",
        )
        for i in range(count)
    )


def test_an_open_column_pages_through_every_card_once_in_close_date_order():
    lead_in = stage("Lead-in")
    _fill(lead_in, 70)
    _fill(lead_in, 15, dated=False)
    seen, cursor, pages = [], "", 0
    while True:
        deals, cursor = selectors.board_cards(stage=lead_in, after=cursor)
        seen += deals
        pages += 1
        if not cursor:
            break
    assert pages == 2 and len(seen) == 85 and len({d.pk for d in seen}) == 85
    dates = [d.expected_close_date for d in seen]
    assert dates[:70] == sorted(dates[:70]) and dates[70:] == [None] * 15


def test_won_and_lost_show_their_latest_deals_and_link_to_the_rest(sales_client):
    won = stage("Won")
    _fill(won, 30, closed=True)
    html = sales_client.get("/deals/").content.decode()
    column = html[html.index(f'id="stage-list-{won.pk}"') :]
    column = column[: column.index("</section>")]
    assert column.count('class="deal-card ') == selectors.CLOSED_RECENT == 20
    assert "Won 029" in column and "Won 009" not in column  # latest closed first
    assert f"stage={won.pk}" in column and "All 30 won deals in the list" in column


def test_column_heads_count_and_sum_every_deal_not_only_the_cards_shown(sales_client):
    proposal = stage("Proposal")
    _fill(proposal, 120)
    total = Deal.objects.filter(stage=proposal).aggregate(s=Sum("amount"))["s"]
    head = selectors.board_heads(stages=[proposal])[0]
    assert head.count == 120 and head.totals.by_currency["USD"].amount == total
    assert head.totals.consolidated_weighted == (total / 2).quantize(Decimal("0.01"))
    html = sales_client.get("/deals/").content.decode()
    assert f'id="stage-head-{proposal.pk}"' in html and ">120<" in html


def test_the_next_page_endpoint_and_its_cursor(sales_client):
    qualified = stage("Qualified")
    _fill(qualified, 60)
    first = sales_client.get("/deals/").content.decode()
    more = (
        first[first.index(f"/deals/stages/{qualified.pk}/cards/?after=") :]
        .split('"')[0]
        .replace("&amp;", "&")
    )
    page2 = sales_client.get(more).content.decode()
    assert page2.count('class="deal-card ') == 10 and "board-more" not in page2
    assert sales_client.get(f"/deals/stages/{qualified.pk}/cards/?after=garbage").status_code == 200


def test_a_move_answers_two_heads_in_the_same_queries_for_10_or_500_deals(sales_client, sales_user):
    deal = deal_make(user=sales_user, title="Mover")
    _fill(stage("Lead-in"), 10)

    def move(to: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = sales_client.post(
                f"/deals/{deal.pk}/move/", {"stage": stage(to).pk}, HTTP_HX_REQUEST="true"
            )
        assert response.status_code == 200 and response.content.decode().count('hx-swap-oob="true"') == 2
        return len(ctx.captured_queries)

    small = move("Qualified")
    _fill(stage("Lead-in"), 250)
    _fill(stage("Qualified"), 250)
    assert move("Lead-in") == small


def test_the_board_consolidates_currencies_with_todays_rate_and_names_those_without():
    proposal = stage("Proposal")
    deal_make(user=None, stage_name="Proposal", amount="1000")
    deal_make(user=None, stage_name="Proposal", amount="500", currency="EUR")
    deal_make(user=None, stage_name="Proposal", amount="100000", currency="JPY")
    ExchangeRate.objects.create(
        base="USD", currency="EUR", rate=Decimal("1.2"), valid_from=datetime.date(2020, 1, 1)
    )
    head = selectors.board_heads(stages=[proposal])[0]
    assert head.totals.consolidated == Decimal("1600.00")  # 1000 + 500 x 1.2; JPY has no rate
    assert head.totals.unconverted == ["JPY"] and head.count == 3


def test_board_page_size_stays_bounded_with_many_deals(sales_client):
    for kind_stage in sales_pipeline().stages.all():
        _fill(kind_stage, 200, closed=kind_stage.kind != Stage.Kind.OPEN)
    html = sales_client.get("/deals/").content.decode()
    assert html.count('class="deal-card ') == 4 * selectors.BOARD_PAGE + 2 * selectors.CLOSED_RECENT


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE pipeline_deal")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
def test_a_closed_column_reads_its_own_index_not_every_open_deals_null_close_time():
    won, lost = stage("Won"), stage("Lost")
    _fill(stage("Lead-in"), 8000)  # open deals: closed_at NULL, first in a backward scan of closed_at
    for column in (won, lost):
        _fill(column, 2000, closed=True)
    # closed by bulk actions (the deals list's "set stage"): one close time for many deals
    Deal.objects.filter(closed_at__isnull=False).update(
        closed_at=datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC)
    )
    captured = CaptureQueriesContext(connection)
    with captured:
        selectors.board_cards(stage=won)
    sql = captured.captured_queries[-1]["sql"]
    plan = _plan(sql, None)
    assert "deal_column_closed_idx" in plan, plan


def test_column_totals_read_only_what_the_totals_index_holds():
    """So that PostgreSQL answers them from deal_column_totals_idx alone (count(*), not count(id))."""
    lead_in = stage("Lead-in")
    _fill(lead_in, 30)
    with CaptureQueriesContext(connection) as captured:
        totals = selectors.board_totals(stages=[lead_in], rates=selectors.rates_on())
    sql = captured.captured_queries[-1]["sql"]
    assert totals[lead_in.pk].count == 30
    assert set(re.findall(r'"pipeline_deal"\."(\w+)"', sql)) <= {"stage_id", "currency", "amount"}, sql
