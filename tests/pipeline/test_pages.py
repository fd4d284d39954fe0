"""Deal pages: board (fixed queries, drag-and-drop endpoint, quick create), list, detail, panels, search."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from contacts.models import Activity, Task
from pipeline.models import Deal, DealStageChange, Stage
from tests.contacts.factories import CompanyFactory, ContactFactory

from .factories import deal_make, sales_pipeline, stage

pytestmark = pytest.mark.django_db


def _bulk_deals(count: int, owner) -> None:
    """Deals straight into the table: the board's query count must not depend on how many there are."""
    companies = [CompanyFactory(owner=owner) for _ in range(3)]
    contact = ContactFactory(owner=owner)
    stages = list(sales_pipeline().stages.all())
    Deal.objects.bulk_create(
        Deal(
            title=f"Deal {i}",
            amount=Decimal(1000 + i),
            currency="USD" if i % 4 else "EUR",
            pipeline=sales_pipeline(),
            stage=stages[i % len(stages)],
            owner=owner,
            company=companies[i % 3],
            contact=contact,
            lost_reason="Price" if stages[i % len(stages)].kind == Stage.Kind.LOST else "",
        )
        for i in range(count)
    )


def _board_queries(client, django_assert_num_queries, count: int) -> None:
    with django_assert_num_queries(count):
        response = client.get("/deals/")
    assert response.status_code == 200


def test_board_query_count_is_the_same_for_5_and_500_deals(
    sales_client, sales_user, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _bulk_deals(5, sales_user)
    with CaptureQueriesContext(connection) as small:
        assert sales_client.get("/deals/").status_code == 200
    _bulk_deals(495, sales_user)
    assert Deal.objects.count() == 500
    with django_assert_num_queries(len(small.captured_queries)):
        response = sales_client.get("/deals/")
    # Open columns show their first 50 cards, won and lost their 20 latest: 4 x 50 + 2 x 20.
    assert response.content.decode().count('class="deal-card ') == 240
    assert len(small.captured_queries) <= 16


def test_board_shows_columns_with_count_total_and_weighted(sales_client, sales_user):
    company = CompanyFactory(name="Acme Fashion")
    deal_make(user=sales_user, stage_name="Proposal", amount="1000", company=company, title="Spring order")
    deal_make(user=sales_user, stage_name="Proposal", amount="3000", company=company, title="Summer order")
    html = sales_client.get("/deals/").content.decode()
    for name in ("Lead-in", "Qualified", "Proposal", "Negotiation", "Won", "Lost"):
        assert name in html
    head = html[html.index(f'id="stage-head-{stage("Proposal").pk}"') :]
    head = head[: head.index("</header>")]
    assert ">2<" in head and "USD 4,000" in head and "weighted 2,000" in head
    assert "Spring order" in html and "Acme Fashion" in html


def test_board_filters_by_owner_month_and_search(sales_client, sales_user, support_user):
    import datetime

    deal_make(user=sales_user, title="Mine in May", expected_close_date=datetime.date(2026, 5, 3))
    deal_make(user=sales_user, title="Mine in June", expected_close_date=datetime.date(2026, 6, 3))
    deal_make(user=sales_user, title="Someone else", owner=support_user)
    html = sales_client.get(f"/deals/?owner={sales_user.pk}&month=2026-05").content.decode()
    assert "Mine in May" in html and "Mine in June" not in html and "Someone else" not in html
    html = sales_client.get("/deals/?q=else", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="board").content.decode()
    assert "Someone else" in html and "Mine in May" not in html and "<nav" not in html


def test_move_endpoint_moves_and_answers_card_and_both_column_heads(sales_client, sales_user):
    deal = deal_make(user=sales_user, title="Drag me")
    response = sales_client.post(
        f"/deals/{deal.pk}/move/", {"stage": stage("Proposal").pk}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="deal-{deal.pk}"' in html
    assert f'id="stage-head-{stage("Lead-in").pk}" hx-swap-oob="true"' in html
    assert f'id="stage-head-{stage("Proposal").pk}" hx-swap-oob="true"' in html
    assert json.loads(response["HX-Trigger"])["toast"]["kind"] == "success"
    deal.refresh_from_db()
    assert deal.stage.name == "Proposal"
    assert DealStageChange.objects.filter(deal=deal, to_stage_name="Proposal", changed_by=sales_user).exists()


def test_move_to_lost_without_reason_is_refused_with_a_message(sales_client, sales_user):
    deal = deal_make(user=sales_user)
    response = sales_client.post(
        f"/deals/{deal.pk}/move/", {"stage": stage("Lost").pk}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert "lost" in response["X-Error-Message"].lower()
    deal.refresh_from_db()
    assert deal.stage.name == "Lead-in"
    response = sales_client.post(
        f"/deals/{deal.pk}/move/",
        {"stage": stage("Lost").pk, "lost_reason": "Budget cut"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    deal.refresh_from_db()
    assert (deal.stage.name, deal.lost_reason) == ("Lost", "Budget cut")


def test_support_cannot_move_and_sees_no_drag_or_edit_controls(support_client, sales_user):
    deal = deal_make(user=sales_user)
    assert support_client.post(f"/deals/{deal.pk}/move/", {"stage": stage("Won").pk}).status_code == 403
    board = support_client.get("/deals/").content.decode()
    assert 'data-can-move="0"' in board and "Quick add" not in board and "New deal" not in board
    detail = support_client.get(f"/deals/{deal.pk}/").content.decode()
    assert "Edit" not in detail and "Log activity" not in detail and "Move to stage" not in detail
    assert support_client.post(f"/deals/{deal.pk}/edit/", {"title": "x"}).status_code == 403
    deal.refresh_from_db()
    assert deal.stage.name == "Lead-in"


def test_marketing_reads_the_board_but_cannot_create(marketing_client):
    assert marketing_client.get("/deals/").status_code == 200
    assert marketing_client.get("/deals/new/").status_code == 403


def test_quick_create_adds_card_to_the_column(sales_client):
    company = CompanyFactory(name="Quick Co")
    lead_in = stage("Lead-in")
    response = sales_client.post(
        f"/deals/stages/{lead_in.pk}/quick-create/",
        {f"quick{lead_in.pk}-title": "Fast one", f"quick{lead_in.pk}-amount": "1200",
         f"quick{lead_in.pk}-currency": "GBP", f"quick{lead_in.pk}-company": company.pk},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    assert response.status_code == 200
    html = response.content.decode()
    assert f'hx-swap-oob="afterbegin:#stage-list-{lead_in.pk}"' in html and "Fast one" in html
    assert 'id="board-summary" hx-swap-oob="true">1 deal in Sales' in html
    deal = Deal.objects.get(title="Fast one")
    assert (deal.stage, deal.amount, deal.currency, deal.company) == (
        lead_in,
        Decimal("1200"),
        "GBP",
        company,
    )


def test_quick_create_without_company_shows_the_error(sales_client):
    lead_in = stage("Lead-in")
    response = sales_client.post(
        f"/deals/stages/{lead_in.pk}/quick-create/",
        {f"quick{lead_in.pk}-title": "No company"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Pick a company or a contact." in response.content.decode()
    assert not Deal.objects.filter(title="No company").exists()


def test_new_deal_page_prefills_company_and_creates(sales_client):
    company = CompanyFactory(name="Prefill Ltd")
    page = sales_client.get(f"/deals/new/?company={company.pk}").content.decode()
    assert "Prefill Ltd – new deal" in page
    response = sales_client.post(
        "/deals/new/",
        {"title": "Prefilled", "amount": "500", "currency": "EUR", "stage": stage("Qualified").pk,
         "company": company.pk, "owner": ""},
    )  # fmt: skip
    deal = Deal.objects.get(title="Prefilled")
    assert response.status_code == 302 and response["Location"] == deal.get_absolute_url()


def test_new_deal_in_lost_stage_needs_reason_on_the_page(sales_client):
    company = CompanyFactory()
    response = sales_client.post(
        "/deals/new/", {"title": "Lost already", "amount": "5", "currency": "USD", "stage": stage("Lost").pk,
                        "company": company.pk},
    )  # fmt: skip
    assert response.status_code == 200
    assert "Say why the deal was lost." in response.content.decode()


def test_list_sorts_filters_paginates_and_exports_csv(sales_client, sales_user):
    for i in range(30):
        deal_make(user=sales_user, title=f"Listed {i:02d}", amount=str(100 * (i + 1)),
                  stage_name="Won" if i % 5 == 0 else "Proposal")  # fmt: skip
    page = sales_client.get("/deals/list/?sort=-amount").content.decode()
    assert page.index("Listed 29") < page.index("Listed 28")
    assert "1–25 of 30" in page
    won = sales_client.get("/deals/list/?status=won").content.decode()
    assert "Listed 05" in won and "Listed 06" not in won
    response = sales_client.get("/deals/list/?status=won&format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["id", "title", "pipeline", "stage"]
    assert sorted(row[1] for row in rows[1:]) == [f"Listed {i:02d}" for i in range(0, 30, 5)]


def test_list_runs_a_fixed_number_of_queries(sales_client, sales_user, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _bulk_deals(3, sales_user)
    with CaptureQueriesContext(connection) as small:
        sales_client.get("/deals/list/")
    _bulk_deals(60, sales_user)
    with django_assert_num_queries(len(small.captured_queries)):
        sales_client.get("/deals/list/")


def test_detail_shows_history_links_activities_and_tasks(sales_client, sales_user):
    contact = ContactFactory(first_name="Nina", last_name="Buyer")
    deal = deal_make(user=sales_user, title="Detailed", contact=contact, company=CompanyFactory())
    sales_client.post(f"/deals/{deal.pk}/stage/", {"stage": stage("Proposal").pk}, HTTP_HX_REQUEST="true")
    sales_client.post(
        f"/deals/{deal.pk}/activities/", {"kind": "call", "subject": "Pricing call"}, HTTP_HX_REQUEST="true"
    )
    sales_client.post(f"/deals/{deal.pk}/tasks/", {"title": "Send contract"}, HTTP_HX_REQUEST="true")
    activity = Activity.objects.get(deal_id=deal.pk)
    assert (activity.contact, activity.company, activity.author) == (contact, deal.company, sales_user)
    task = Task.objects.get(deal_id=deal.pk)
    html = sales_client.get(f"/deals/{deal.pk}/").content.decode()
    assert "Pricing call" in html and "Send contract" in html and "Nina Buyer" in html
    assert contact.get_absolute_url() in html and deal.company.get_absolute_url() in html
    assert "Lead-in" in html and "Proposal" in html
    response = sales_client.post(f"/deals/{deal.pk}/tasks/{task.pk}/complete/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.done_at is not None


def test_detail_stage_form_refuses_lost_without_reason(sales_client, sales_user):
    deal = deal_make(user=sales_user)
    response = sales_client.post(
        f"/deals/{deal.pk}/stage/", {"stage": stage("Lost").pk}, HTTP_HX_REQUEST="true"
    )
    assert "Say why the deal was lost" in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage.name == "Lead-in"


def test_inline_edit_saves_and_reports_field_errors(sales_client, sales_user):
    deal = deal_make(user=sales_user, title="Before")
    form = sales_client.get(f"/deals/{deal.pk}/edit/", HTTP_HX_REQUEST="true").content.decode()
    assert 'name="title"' in form and "<nav" not in form
    assert "<nav" in sales_client.get(f"/deals/{deal.pk}/edit/").content.decode()  # a full page without htmx
    data = {"title": "After", "amount": "2500.50", "currency": "USD", "company": deal.company_id,
            "owner": sales_user.pk, "next_step": "Call back"}  # fmt: skip
    response = sales_client.post(f"/deals/{deal.pk}/edit/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "After" in response.content.decode()
    deal.refresh_from_db()
    assert (deal.title, deal.amount, deal.next_step) == ("After", Decimal("2500.50"), "Call back")
    bad = sales_client.post(f"/deals/{deal.pk}/edit/", {**data, "amount": "-1"}, HTTP_HX_REQUEST="true")
    assert "is-invalid" in bad.content.decode()


def test_contact_and_company_panels_list_deals_in_fixed_queries(
    sales_client, sales_user, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    contact = ContactFactory()
    company = CompanyFactory()
    deal_make(user=sales_user, title="Panel deal", contact=contact, company=company)
    url = reverse("pipeline:contact_deals", args=[contact.pk])
    with CaptureQueriesContext(connection) as one:
        html = sales_client.get(url).content.decode()
    assert "Panel deal" in html and f"/deals/new/?contact={contact.pk}" in html
    for i in range(10):
        deal_make(user=sales_user, title=f"More {i}", contact=contact, company=company)
    with django_assert_num_queries(len(one.captured_queries)):
        sales_client.get(url)
    company_html = sales_client.get(reverse("pipeline:company_deals", args=[company.pk])).content.decode()
    assert "More 9" in company_html and f"/deals/new/?company={company.pk}" in company_html


def test_panels_are_registered_for_contact_and_company_pages():
    from contacts.panels import COMPANY_PANELS, CONTACT_PANELS

    assert CONTACT_PANELS["deals"].url_name == "pipeline:contact_deals"
    assert COMPANY_PANELS["deals"].url_name == "pipeline:company_deals"


def test_global_search_finds_deals(sales_client, sales_user, support_client):
    deal_make(user=sales_user, title="Velvet coats wholesale")
    html = sales_client.get("/search/?q=velvet").content.decode()
    assert "Velvet coats wholesale" in html and "Deals" in html


def test_forecast_is_listed_in_reports(sales_client):
    assert "/deals/forecast/" in sales_client.get("/reports/").content.decode()
