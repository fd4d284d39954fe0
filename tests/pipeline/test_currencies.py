"""Money in one currency: any ISO 4217 currency on a deal, a company currency, dated rates, consolidated reports."""

import datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.core.exceptions import ValidationError

from pipeline import selectors, services
from pipeline.currencies import CURRENCY_CODES, minor_units
from pipeline.models import CurrencySettings, Deal, ExchangeRate
from pipeline.templatetags.pipeline_tags import money_in
from tests.contacts.factories import CompanyFactory

from .factories import deal_make, stage

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 5, 15)


def _rate(currency: str, rate: str, day: datetime.date, base: str = "USD") -> ExchangeRate:
    return ExchangeRate.objects.create(base=base, currency=currency, rate=D(rate), valid_from=day)


def test_any_iso_4217_currency_is_accepted_and_shown_with_its_minor_units(sales_client):
    assert {"JPY", "KWD", "CHF", "BRL", "INR"} <= set(CURRENCY_CODES) and "ZZZ" not in CURRENCY_CODES
    company = CompanyFactory()
    response = sales_client.post(
        "/deals/new/",
        {"title": "Tokyo order", "amount": "1500000", "currency": "JPY", "stage": stage("Proposal").pk,
         "company": company.pk},
    )  # fmt: skip
    deal = Deal.objects.get(title="Tokyo order")
    assert response.status_code == 302 and deal.currency == "JPY"
    assert minor_units("JPY") == 0 and money_in(deal.amount, "JPY") == "1,500,000"
    assert money_in(D("12.5"), "KWD") == "12.500" and money_in(D("12.5"), "EUR") == "12.50"
    refused = sales_client.post(
        "/deals/new/",
        {
            "title": "Bad",
            "amount": "1",
            "currency": "ZZZ",
            "stage": stage("Proposal").pk,
            "company": company.pk,
        },
    )
    assert refused.status_code == 200 and "currency" in refused.context["form"].errors


def test_the_database_refuses_a_currency_outside_iso_4217(sales_user):
    deal = deal_make(user=sales_user)
    deal.currency = "ABC"
    with pytest.raises(ValidationError) as error:
        deal.full_clean()
    assert "currency" in error.value.message_dict


def test_rates_are_dated_and_the_latest_valid_one_applies():
    _rate("EUR", "1.10", datetime.date(2026, 1, 1))
    _rate("EUR", "1.20", datetime.date(2026, 4, 1))
    assert selectors.rates_on(day=datetime.date(2026, 3, 31)).rate("EUR") == D("1.10")
    assert selectors.rates_on(day=datetime.date(2026, 4, 1)).rate("EUR") == D("1.20")
    assert selectors.rates_on(day=datetime.date(2025, 12, 31)).rate("EUR") is None
    assert selectors.rates_on(day=TODAY).rate("USD") == D(1)


def test_a_new_company_currency_uses_only_its_own_rates():
    _rate("EUR", "1.20", datetime.date(2026, 1, 1))
    CurrencySettings.objects.create(base_currency="EUR")
    _rate("USD", "0.90", datetime.date(2026, 1, 1), base="EUR")
    rates = selectors.rates_on(day=TODAY)
    assert rates.base == "EUR" and rates.rate("USD") == D("0.90") and rates.rate("GBP") is None


def test_rate_constraints_read_as_sentences():
    bad = ExchangeRate(base="USD", currency="USD", rate=D("0"), valid_from=TODAY)
    with pytest.raises(ValidationError) as error:
        bad.full_clean()
    text = " ".join(error.value.messages)
    assert "Pick a currency other than the company currency." in text and "constraint" not in text.lower()


def test_the_forecast_consolidates_open_deals_at_todays_rate_and_won_deals_at_their_close_date(sales_user):
    _rate("EUR", "1.10", datetime.date(2026, 1, 1))
    _rate("EUR", "1.50", datetime.date(2026, 5, 10))
    deal_make(
        user=sales_user, stage_name="Proposal", amount="1000", expected_close_date=datetime.date(2026, 5, 20)
    )
    deal_make(
        user=sales_user, stage_name="Proposal", amount="1000", currency="EUR",
        expected_close_date=datetime.date(2026, 5, 20),
    )  # fmt: skip
    deal_make(
        user=sales_user, stage_name="Proposal", amount="999", currency="JPY",
        expected_close_date=datetime.date(2026, 5, 20),
    )  # fmt: skip
    with time_machine.travel(datetime.datetime(2026, 5, 5, 12, tzinfo=datetime.UTC), tick=False):
        won = deal_make(user=sales_user, stage_name="Proposal", amount="100", currency="EUR")
        services.deal_move(deal=won, stage=stage("Won"), user=sales_user)
    forecast = selectors.forecast_build(today=TODAY)
    may = forecast.months[0].total
    assert forecast.consolidated and forecast.currency == "USD" and forecast.unconverted == ["JPY"]
    assert may.best_case == D("2500.00")  # 1000 USD + 1000 EUR x 1.50 today
    assert may.weighted == D("1250.00")
    assert may.won == D("110.00")  # won on 5 May: that day's rate 1.10, not today's 1.50
    usd_only = selectors.forecast_build(today=TODAY, currency="USD").months[0].total
    assert usd_only.best_case == D("1000.00") and usd_only.won == D("0.00")


def test_win_rates_and_deals_by_stage_are_consolidated(sales_user):
    _rate("GBP", "1.25", datetime.date(2026, 1, 1))
    with time_machine.travel(datetime.datetime(2026, 5, 1, 12, tzinfo=datetime.UTC), tick=False):
        for amount, currency in (("100", "USD"), ("100", "GBP"), ("100", "JPY")):
            deal = deal_make(user=sales_user, amount=amount, currency=currency)
            services.deal_move(deal=deal, stage=stage("Won"), user=sales_user)
    since = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    rows, total = selectors.win_rates(since=since)
    assert total.won == 3 and total.won_amount == D("225.00") and total.won_in_currency == 2
    deal_make(user=sales_user, stage_name="Qualified", amount="200", currency="GBP")
    qualified = next(row for row in selectors.deals_by_stage() if row.stage.name == "Qualified")
    assert (qualified.count, qualified.amount, qualified.weighted) == (1, D("250.00"), D("62.50"))


def test_the_forecast_page_names_currencies_without_a_rate(sales_client, sales_user):
    deal_make(user=sales_user, stage_name="Proposal", amount="5", currency="CHF", expected_close_date=TODAY)
    with time_machine.travel(datetime.datetime(2026, 5, 15, 9, tzinfo=datetime.UTC), tick=False):
        html = sales_client.get("/deals/forecast/").content.decode()
    assert 'id="forecast-unconverted"' in html and "CHF" in html


def test_an_admin_sets_the_company_currency_and_adds_a_rate(admin_client_role):
    response = admin_client_role.post("/admin/pipeline/currencysettings/add/", {"base_currency": "EUR"})
    assert response.status_code == 302 and CurrencySettings.objects.get().base_currency == "EUR"
    assert admin_client_role.get("/admin/pipeline/currencysettings/add/").status_code == 403
    added = admin_client_role.post(
        "/admin/pipeline/exchangerate/add/",
        {"base": "EUR", "currency": "JPY", "rate": "0.0061", "valid_from": "2026-05-01"},
    )
    assert added.status_code == 302 and ExchangeRate.objects.get().currency == "JPY"
