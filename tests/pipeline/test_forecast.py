"""Forecast arithmetic against hand-computed figures, with "today" frozen at 15 May 2026."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from pipeline import selectors, services
from pipeline.models import Deal, Pipeline, Stage
from tests.factories import UserFactory

from .factories import deal_make

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 5, 15)
D = Decimal


def _closed(deal: Deal, day: datetime.date) -> None:
    moment = datetime.datetime.combine(day, datetime.time(12), tzinfo=timezone.get_current_timezone())
    Deal.objects.filter(pk=deal.pk).update(closed_at=moment)


@pytest.fixture
def book(sales_user):
    """Ten deals whose forecast is worked out by hand in the tests below."""
    alice, bob = sales_user, UserFactory(username="bob")
    d = datetime.date
    with time_machine.travel(datetime.datetime(2026, 5, 15, 9, tzinfo=datetime.UTC), tick=False):
        deal_make(user=alice, stage_name="Proposal", amount="10000", expected_close_date=d(2026, 5, 20))
        deal_make(user=alice, stage_name="Negotiation", amount="8000", expected_close_date=d(2026, 6, 10))
        deal_make(
            user=bob, stage_name="Qualified", amount="4000", expected_close_date=d(2026, 4, 1)
        )  # overdue
        deal_make(
            user=alice, stage_name="Lead-in", amount="2500", expected_close_date=d(2026, 12, 5)
        )  # Q4 only
        _closed(deal_make(user=alice, stage_name="Won", amount="6000"), d(2026, 5, 3))
        _closed(deal_make(user=bob, stage_name="Won", amount="3000"), d(2026, 4, 20))  # Q2, before the window
        _closed(deal_make(user=alice, stage_name="Won", amount="1000"), d(2026, 3, 30))  # before Q2: ignored
        deal_make(user=alice, stage_name="Lost", amount="9000", expected_close_date=d(2026, 5, 30))
        deal_make(
            user=alice,
            stage_name="Negotiation",
            amount="50000",
            currency="EUR",
            expected_close_date=d(2026, 5, 25),
        )
        deal_make(user=alice, stage_name="Proposal", amount="7000")  # no close date: not forecast
        deal_make(user=alice, stage_name="Proposal", amount="333.33", expected_close_date=d(2026, 7, 15))
    return alice, bob


def _figures(figures) -> tuple:
    return (figures.weighted, figures.best_case, figures.committed, figures.won)


def test_six_months_totals_match_hand_computation(book):
    forecast = selectors.forecast_build(today=TODAY)
    assert [p.label for p in forecast.months] == [
        "May 2026",
        "Jun 2026",
        "Jul 2026",
        "Aug 2026",
        "Sep 2026",
        "Oct 2026",
    ]
    totals = {p.label: _figures(p.total) for p in forecast.months}
    # May: 10000 x 50% + 4000 (overdue) x 25% = 6000 weighted; best 14000; nothing >= 75%; won 6000 on 3 May.
    assert totals["May 2026"] == (D("6000.00"), D("14000.00"), D("0.00"), D("6000.00"))
    # June: 8000 at 75% -> 6000 weighted, committed 8000.
    assert totals["Jun 2026"] == (D("6000.00"), D("8000.00"), D("8000.00"), D("0.00"))
    # July: 333.33 x 50% = 166.665 -> 166.67 (half up).
    assert totals["Jul 2026"] == (D("166.67"), D("333.33"), D("0.00"), D("0.00"))
    for label in ("Aug 2026", "Sep 2026", "Oct 2026"):
        assert totals[label] == (0, 0, 0, 0)


def test_per_owner_rows_split_the_month(book):
    alice, bob = book
    may = selectors.forecast_build(today=TODAY).months[0]
    assert _figures(may.by_owner[alice.pk]) == (D("5000.00"), D("10000.00"), D("0.00"), D("6000.00"))
    assert _figures(may.by_owner[bob.pk]) == (D("1000.00"), D("4000.00"), D("0.00"), D("0.00"))


def test_quarters_cover_whole_calendar_quarters(book):
    quarters = {p.label: _figures(p.total) for p in selectors.forecast_build(today=TODAY).quarters}
    assert list(quarters) == ["Q2 2026", "Q3 2026", "Q4 2026"]
    # Q2: weighted 6000 + 6000; best 14000 + 8000; committed 8000; won 6000 (May) + 3000 (April).
    assert quarters["Q2 2026"] == (D("12000.00"), D("22000.00"), D("8000.00"), D("9000.00"))
    assert quarters["Q3 2026"] == (D("166.67"), D("333.33"), D("0.00"), D("0.00"))
    # Q4 holds the December lead-in deal: 2500 x 10%.
    assert quarters["Q4 2026"] == (D("250.00"), D("2500.00"), D("0.00"), D("0.00"))


def test_owner_filter(book):
    _, bob = book
    forecast = selectors.forecast_build(today=TODAY, owner_id=bob.pk)
    assert _figures(forecast.months[0].total) == (D("1000.00"), D("4000.00"), D("0.00"), D("0.00"))
    assert forecast.quarters[0].total.won == D("3000.00")


def test_other_currency_has_its_own_forecast(book):
    usd = selectors.forecast_build(today=TODAY, currency="USD")
    assert usd.other_currencies == ["EUR"]
    eur = selectors.forecast_build(today=TODAY, currency="EUR")
    assert _figures(eur.months[0].total) == (D("37500.00"), D("50000.00"), D("50000.00"), D("0.00"))


def test_pipeline_filter_leaves_out_other_pipelines(book, sales_user):
    partners = Pipeline.objects.create(name="Partners")
    open_stage = Stage.objects.create(pipeline=partners, name="Talking", probability=40, position=1)
    services.deal_create(
        user=sales_user,
        title="Partner deal",
        stage=open_stage,
        amount=D("1000"),
        company=Deal.objects.first().company,
        expected_close_date=datetime.date(2026, 5, 28),
    )
    everything = selectors.forecast_build(today=TODAY)
    assert everything.months[0].total.weighted == D("6400.00")
    sales_only = selectors.forecast_build(today=TODAY, pipeline=Pipeline.objects.get(name="Sales"))
    assert sales_only.months[0].total.weighted == D("6000.00")
    partners_only = selectors.forecast_build(today=TODAY, pipeline=partners)
    assert _figures(partners_only.months[0].total) == (D("400.00"), D("1000.00"), D("0.00"), D("0.00"))


def test_forecast_page_shows_table_chart_and_csv(book, sales_client):
    with time_machine.travel(datetime.datetime(2026, 5, 15, 9, tzinfo=datetime.UTC), tick=False):
        page = sales_client.get("/deals/forecast/")
        csv_response = sales_client.get("/deals/forecast/?by=quarter&format=csv")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="forecast-chart"' in html and "May 2026" in html and "6,000.00" in html
    lines = b"".join(csv_response.streaming_content).decode().strip().splitlines()
    assert lines[0] == "period,owner,currency,weighted,best_case,committed,closed_won"
    assert "Q2 2026,Total,USD,12000.00,22000.00,8000.00,9000.00" in lines


def test_forecast_runs_a_fixed_number_of_queries(book, django_assert_num_queries):
    with django_assert_num_queries(4):  # open sums, won sums, owners, other currencies
        selectors.forecast_build(today=TODAY, currency="USD")
    # Consolidated: + company currency, + rates, + won deals without a rate (instead of other currencies).
    with django_assert_num_queries(6):
        selectors.forecast_build(today=TODAY)
