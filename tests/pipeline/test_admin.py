"""Admin: deal saves go through the services (history recorded), stages with deals cannot be deleted."""

import pytest

from pipeline.models import Deal, Pipeline
from tests.contacts.factories import CompanyFactory

from .factories import deal_make, sales_pipeline, stage

pytestmark = pytest.mark.django_db


def _deal_form(deal: Deal, **changes) -> dict:
    data = {
        "title": deal.title,
        "amount": str(deal.amount),
        "currency": deal.currency,
        "expected_close_date": "",
        "owner": deal.owner_id or "",
        "contact": deal.contact_id or "",
        "company": deal.company_id or "",
        "stage": deal.stage_id,
        "next_step": deal.next_step,
        "lost_reason": deal.lost_reason,
        "stage_changes-TOTAL_FORMS": "0",
        "stage_changes-INITIAL_FORMS": "0",
        "stage_changes-MIN_NUM_FORMS": "0",
        "stage_changes-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def test_admin_stage_change_goes_through_the_service(admin_client_role, admin_user, sales_user):
    deal = deal_make(user=sales_user)
    response = admin_client_role.post(
        f"/admin/pipeline/deal/{deal.pk}/change/", _deal_form(deal, stage=stage("Negotiation").pk)
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    deal.refresh_from_db()
    assert deal.stage.name == "Negotiation"
    change = deal.stage_changes.order_by("-id").first()
    assert (change.from_stage_name, change.to_stage_name, change.changed_by) == (
        "Lead-in",
        "Negotiation",
        admin_user,
    )


def test_admin_refuses_lost_without_reason_on_the_form(admin_client_role, sales_user):
    deal = deal_make(user=sales_user)
    response = admin_client_role.post(
        f"/admin/pipeline/deal/{deal.pk}/change/", _deal_form(deal, stage=stage("Lost").pk)
    )
    assert response.status_code == 200
    assert "Say why the deal was lost" in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage.name == "Lead-in"


def test_admin_add_records_history(admin_client_role):
    company = CompanyFactory()
    data = _deal_form(
        Deal(title="Admin made", amount=100, currency="USD", company=company, stage=stage("Proposal"))
    )
    data["pipeline"] = sales_pipeline().pk
    response = admin_client_role.post("/admin/pipeline/deal/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    deal = Deal.objects.get(title="Admin made")
    assert deal.stage_changes.count() == 1


def test_admin_cannot_delete_stage_with_deals(admin_client_role, sales_user):
    deal_make(user=sales_user, stage_name="Proposal")
    proposal = stage("Proposal")
    page = admin_client_role.get(f"/admin/pipeline/stage/{proposal.pk}/delete/").content.decode()
    assert "protected" in page.lower()
    admin_client_role.post(f"/admin/pipeline/stage/{proposal.pk}/delete/", {"post": "yes"})
    assert sales_pipeline().stages.filter(pk=proposal.pk).exists()


def test_admin_pages_render(admin_client_role, sales_user):
    deal = deal_make(user=sales_user)
    for url in ("/admin/pipeline/deal/", f"/admin/pipeline/deal/{deal.pk}/change/", "/admin/pipeline/stage/",
                f"/admin/pipeline/pipeline/{sales_pipeline().pk}/change/"):  # fmt: skip
        assert admin_client_role.get(url).status_code == 200, url


def test_pipeline_admin_refuses_to_delete_an_inline_stage_with_deals(admin_client_role, sales_user):
    deal_make(user=sales_user, stage_name="Proposal")
    pipeline = sales_pipeline()
    stages = list(pipeline.stages.order_by("position", "id"))
    data = {"name": pipeline.name, "is_default": "on", "stages-TOTAL_FORMS": str(len(stages)),
            "stages-INITIAL_FORMS": str(len(stages)), "stages-MIN_NUM_FORMS": "0", "stages-MAX_NUM_FORMS": "1000"}  # fmt: skip
    for i, s in enumerate(stages):
        data.update({f"stages-{i}-id": s.pk, f"stages-{i}-pipeline": pipeline.pk, f"stages-{i}-position": s.position,
                     f"stages-{i}-name": s.name, f"stages-{i}-probability": s.probability, f"stages-{i}-kind": s.kind})  # fmt: skip
        if s.name == "Proposal":
            data[f"stages-{i}-DELETE"] = "on"
    response = admin_client_role.post(f"/admin/pipeline/pipeline/{pipeline.pk}/change/", data)
    assert response.status_code == 200
    assert "protected" in response.content.decode().lower()
    assert pipeline.stages.filter(name="Proposal").exists()


def test_admin_marks_another_pipeline_default(admin_client_role):
    data = {"name": "Partners", "is_default": "on", "stages-TOTAL_FORMS": "0", "stages-INITIAL_FORMS": "0",
            "stages-MIN_NUM_FORMS": "0", "stages-MAX_NUM_FORMS": "1000"}  # fmt: skip
    response = admin_client_role.post("/admin/pipeline/pipeline/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(Pipeline.objects.filter(is_default=True).values_list("name", flat=True)) == ["Partners"]
