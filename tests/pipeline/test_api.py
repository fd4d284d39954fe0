"""REST API: pipelines, stages, deals with filters; stage moves recorded like the UI; errors name the field."""

import datetime

import pytest

from pipeline.models import Deal, DealStageChange
from tests.contacts.factories import CompanyFactory

from .factories import StageFactory, deal_make, sales_pipeline, stage

pytestmark = pytest.mark.django_db


def test_pipelines_and_stages_are_listed(support_api):
    pipelines = support_api.get("/api/pipelines/").json()["results"]
    assert [p["name"] for p in pipelines] == ["Sales"]
    assert [s["name"] for s in pipelines[0]["stages"]][:2] == ["Lead-in", "Qualified"]
    stages = support_api.get(f"/api/stages/?pipeline={sales_pipeline().pk}&kind=won").json()["results"]
    assert [(s["name"], s["probability"]) for s in stages] == [("Won", 100)]


def test_deal_filters(sales_api, sales_user, support_user):
    d = datetime.date
    deal_make(user=sales_user, title="Small May", amount="500", expected_close_date=d(2026, 5, 10))
    deal_make(
        user=sales_user,
        title="Big June",
        amount="50000",
        stage_name="Proposal",
        expected_close_date=d(2026, 6, 1),
    )
    deal_make(user=sales_user, title="Won one", stage_name="Won", owner=support_user)
    deal_make(user=sales_user, title="Lost one", stage_name="Lost")

    def titles(query: str) -> set[str]:
        response = sales_api.get(f"/api/deals/?{query}")
        assert response.status_code == 200, response.content
        return {row["title"] for row in response.json()["results"]}

    assert titles("status=open") == {"Small May", "Big June"}
    assert titles("status=won") == {"Won one"}
    assert titles("status=lost") == {"Lost one"}
    assert titles(f"stage={stage('Proposal').pk}") == {"Big June"}
    assert titles(f"owner={support_user.pk}") == {"Won one"}
    assert titles(f"pipeline={sales_pipeline().pk}&amount_min=1001&amount_max=60000") == {"Big June"}
    assert titles("close_after=2026-05-01&close_before=2026-05-31") == {"Small May"}


def test_create_through_api_records_history(sales_api, sales_user):
    company = CompanyFactory()
    response = sales_api.post(
        "/api/deals/",
        {"title": "API deal", "amount": "1250.00", "currency": "EUR", "stage": stage("Qualified").pk,
         "company": company.pk},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["probability"], body["weighted_amount"]) == ("open", 25, "312.50")
    deal = Deal.objects.get(pk=body["id"])
    assert deal.owner == sales_user and deal.pipeline == sales_pipeline()
    assert deal.stage_changes.count() == 1


def test_patch_stage_records_the_change_like_the_ui(sales_api, sales_user):
    deal = deal_make(user=sales_user)
    response = sales_api.patch(f"/api/deals/{deal.pk}/", {"stage": stage("Won").pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["closed_at"] is not None
    change = DealStageChange.objects.filter(deal=deal).order_by("-id").first()
    assert (change.from_stage_name, change.to_stage_name, change.changed_by) == ("Lead-in", "Won", sales_user)


def test_move_action_records_the_change(sales_api, sales_user):
    deal = deal_make(user=sales_user)
    response = sales_api.post(
        f"/api/deals/{deal.pk}/move/", {"stage": stage("Lost").pk, "lost_reason": "Price"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["lost_reason"]) == ("lost", "Price")
    assert deal.stage_changes.count() == 2


def test_move_to_lost_without_reason_names_the_field(sales_api, sales_user):
    deal = deal_make(user=sales_user)
    response = sales_api.post(f"/api/deals/{deal.pk}/move/", {"stage": stage("Lost").pk}, format="json")
    assert response.status_code == 400
    assert "lost_reason" in response.json()
    response = sales_api.patch(f"/api/deals/{deal.pk}/", {"stage": stage("Lost").pk}, format="json")
    assert response.status_code == 400 and "lost_reason" in response.json()


def test_stage_of_another_pipeline_names_the_field(sales_api, sales_user):
    deal = deal_make(user=sales_user)
    response = sales_api.patch(f"/api/deals/{deal.pk}/", {"stage": StageFactory().pk}, format="json")
    assert response.status_code == 400 and "stage" in response.json()
    response = sales_api.post(f"/api/deals/{deal.pk}/move/", {"stage": StageFactory().pk}, format="json")
    assert response.status_code == 400 and "stage" in response.json()


def test_create_errors_name_the_field(sales_api):
    response = sales_api.post("/api/deals/", {"amount": "-3", "currency": "XXX"}, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert {"amount", "currency"} <= set(errors) or "title" in errors
    response = sales_api.post(
        "/api/deals/", {"title": "No links", "stage": stage("Lead-in").pk}, format="json"
    )
    assert response.status_code == 400 and "contact" in response.json()


def test_support_can_read_but_not_write(support_api, sales_user):
    deal = deal_make(user=sales_user)
    assert support_api.get("/api/deals/").status_code == 200
    assert support_api.get(f"/api/deals/{deal.pk}/").status_code == 200
    assert support_api.patch(f"/api/deals/{deal.pk}/", {"title": "x"}, format="json").status_code == 403
    assert (
        support_api.post(f"/api/deals/{deal.pk}/move/", {"stage": stage("Won").pk}, format="json").status_code
        == 403
    )
    assert support_api.post("/api/deals/", {"title": "x"}, format="json").status_code == 403
    assert support_api.delete(f"/api/deals/{deal.pk}/").status_code == 403
    assert support_api.post("/api/stages/", {"name": "x"}, format="json").status_code == 403
    deal.refresh_from_db()
    assert deal.stage.name == "Lead-in"


def test_marketing_reads_deals(marketing_api):
    assert marketing_api.get("/api/deals/").status_code == 200


def test_deleting_a_stage_with_deals_is_a_409_naming_the_deals(admin_api, sales_user):
    deal_make(user=sales_user, stage_name="Proposal")
    response = admin_api.delete(f"/api/stages/{stage('Proposal').pk}/")
    assert response.status_code == 409
    assert response.json()["protected_by"] == ["1 deal"]
    assert stage("Proposal").pk


def test_deal_list_api_runs_fixed_queries(sales_api, sales_user, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    deal_make(user=sales_user)
    with CaptureQueriesContext(connection) as one:
        sales_api.get("/api/deals/")
    for _ in range(5):
        deal_make(user=sales_user)
    with django_assert_num_queries(len(one.captured_queries)):
        sales_api.get("/api/deals/")


def test_admin_creates_a_default_pipeline_through_the_api(admin_api):
    response = admin_api.post("/api/pipelines/", {"name": "Partners", "is_default": True}, format="json")
    assert response.status_code == 201, response.content
    assert admin_api.get("/api/pipelines/?is_default=true").json()["results"][0]["name"] == "Partners"


def test_deleting_a_pipeline_with_deals_is_a_409_and_keeps_it(admin_api, sales_user):
    deal = deal_make(user=sales_user, stage_name="Proposal")
    response = admin_api.delete(f"/api/pipelines/{deal.pipeline_id}/")
    assert response.status_code == 409
    assert response.json()["protected_by"] == ["1 deal"]
    assert "1 deal" in response.json()["detail"]


def test_deal_errors_have_the_contract_shape(sales_api, sales_user):
    deal = deal_make(user=sales_user, stage_name="Proposal")
    unknown = sales_api.patch(f"/api/deals/{deal.pk}/", {"favourite_colour": "red"}, format="json")
    assert unknown.status_code == 400 and unknown.json() == {
        "favourite_colour": ["This field does not exist here."]
    }
    lost = sales_api.post(f"/api/deals/{deal.pk}/move/", {"stage": stage("Lost").pk}, format="json")
    assert lost.status_code == 400 and list(lost.json()) == ["lost_reason"]
    assert isinstance(lost.json()["lost_reason"], list)
