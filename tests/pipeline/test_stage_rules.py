"""The rules of deals and stages: one service writes every move, with history, closed_at and lost reasons."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from contacts.signals import crm_changed
from pipeline import services
from pipeline.models import Deal, DealStageChange, Pipeline, Stage
from tests.contacts.factories import CompanyFactory, ContactFactory

from .factories import StageFactory, deal_make, sales_pipeline, stage

pytestmark = pytest.mark.django_db


def test_migration_creates_default_sales_pipeline_with_ordered_stages():
    pipeline = sales_pipeline()
    assert pipeline.is_default
    stages = list(pipeline.stages.order_by("position").values_list("name", "probability", "kind"))
    assert stages == [
        ("Lead-in", 10, "open"),
        ("Qualified", 25, "open"),
        ("Proposal", 50, "open"),
        ("Negotiation", 75, "open"),
        ("Won", 100, "won"),
        ("Lost", 0, "lost"),
    ]


def test_only_one_pipeline_can_be_default():
    with pytest.raises(IntegrityError), transaction.atomic():
        Pipeline.objects.create(name="Partners", is_default=True)


def test_set_default_moves_the_flag():
    other = Pipeline.objects.create(name="Partners")
    services.pipeline_set_default(pipeline=other)
    assert list(Pipeline.objects.filter(is_default=True)) == [other]


def test_stage_probability_above_100_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        Stage.objects.create(pipeline=sales_pipeline(), name="Too sure", probability=101)


def test_create_records_the_first_stage_in_history(sales_user):
    deal = deal_make(user=sales_user, stage_name="Qualified")
    change = deal.stage_changes.get()
    assert (change.from_stage, change.to_stage.name, change.changed_by) == (None, "Qualified", sales_user)
    assert deal.owner == sales_user
    assert deal.closed_at is None


def test_create_without_stage_uses_first_stage_of_default_pipeline(sales_user):
    deal = services.deal_create(user=sales_user, title="Fresh", company=CompanyFactory())
    assert deal.stage.name == "Lead-in"
    assert deal.pipeline == sales_pipeline()


def test_deal_needs_contact_or_company(sales_user):
    with pytest.raises(ValidationError) as exc:
        services.deal_create(user=sales_user, title="Orphan", stage=stage("Lead-in"))
    assert "contact" in exc.value.message_dict


def test_move_records_from_to_who_and_when(sales_user):
    deal = deal_make(user=sales_user)
    services.deal_move(deal=deal, stage=stage("Proposal"), user=sales_user)
    latest = deal.stage_changes.order_by("-id").first()
    assert (latest.from_stage_name, latest.to_stage_name, latest.changed_by) == (
        "Lead-in",
        "Proposal",
        sales_user,
    )
    assert latest.changed_at is not None
    assert Deal.objects.get(pk=deal.pk).stage.name == "Proposal"


def test_move_to_the_same_stage_writes_no_history(sales_user):
    deal = deal_make(user=sales_user)
    services.deal_move(deal=deal, stage=stage("Lead-in"), user=sales_user)
    assert deal.stage_changes.count() == 1


def test_move_to_lost_requires_a_reason(sales_user):
    deal = deal_make(user=sales_user)
    with pytest.raises(ValidationError) as exc:
        services.deal_move(deal=deal, stage=stage("Lost"), user=sales_user)
    assert "lost_reason" in exc.value.message_dict
    deal.refresh_from_db()
    assert deal.stage.name == "Lead-in"
    assert deal.stage_changes.count() == 1


def test_move_to_lost_with_reason_closes_the_deal(sales_user):
    deal = deal_make(user=sales_user)
    services.deal_move(deal=deal, stage=stage("Lost"), user=sales_user, lost_reason="Chose a competitor")
    deal.refresh_from_db()
    assert deal.lost_reason == "Chose a competitor"
    assert deal.closed_at is not None
    assert deal.stage_changes.order_by("-id").first().lost_reason == "Chose a competitor"


def test_won_sets_closed_at_and_reopen_clears_it(sales_user):
    deal = deal_make(user=sales_user)
    services.deal_move(deal=deal, stage=stage("Won"), user=sales_user)
    deal.refresh_from_db()
    assert deal.closed_at is not None
    services.deal_move(deal=deal, stage=stage("Negotiation"), user=sales_user)
    deal.refresh_from_db()
    assert deal.closed_at is None
    assert deal.stage_changes.count() == 3


def test_reopening_a_lost_deal_clears_the_lost_reason(sales_user):
    deal = deal_make(user=sales_user, stage_name="Lost", lost_reason="No budget")
    services.deal_move(deal=deal, stage=stage("Qualified"), user=sales_user)
    deal.refresh_from_db()
    assert (deal.lost_reason, deal.closed_at) == ("", None)


def test_stage_of_another_pipeline_is_refused_by_the_service(sales_user):
    deal = deal_make(user=sales_user)
    foreign = StageFactory(name="Elsewhere")
    with pytest.raises(ValidationError) as exc:
        services.deal_move(deal=deal, stage=foreign, user=sales_user)
    assert "stage" in exc.value.message_dict


def test_stage_of_another_pipeline_is_refused_by_the_database(sales_user):
    deal = deal_make(user=sales_user)
    foreign = StageFactory(name="Elsewhere")
    with pytest.raises(IntegrityError), transaction.atomic():
        Deal.objects.filter(pk=deal.pk).update(stage=foreign)


def test_model_validation_names_the_stage_of_another_pipeline(sales_user):
    deal = deal_make(user=sales_user)
    deal.stage = StageFactory(name="Elsewhere")
    with pytest.raises(ValidationError) as exc:
        deal.full_clean()
    assert "stage" in exc.value.message_dict


def test_stage_with_deals_cannot_be_deleted(sales_user):
    deal_make(user=sales_user, stage_name="Proposal")
    with pytest.raises(ProtectedError):
        stage("Proposal").delete()


def test_empty_stage_can_be_deleted_and_history_keeps_its_name(sales_user):
    extra = Stage.objects.create(pipeline=sales_pipeline(), name="Demo booked", probability=30, position=3)
    deal = deal_make(user=sales_user)
    services.deal_move(deal=deal, stage=extra, user=sales_user)
    services.deal_move(deal=deal, stage=stage("Proposal"), user=sales_user)
    extra.delete()
    names = list(
        DealStageChange.objects.filter(deal=deal).order_by("id").values_list("to_stage_name", flat=True)
    )
    assert names == ["Lead-in", "Demo booked", "Proposal"]


def test_negative_amount_is_refused(sales_user):
    with pytest.raises(ValidationError) as exc:
        deal_make(user=sales_user, amount="-5")
    assert "amount" in exc.value.message_dict


def test_update_with_new_stage_goes_through_move(sales_user):
    deal = deal_make(user=sales_user)
    services.deal_update(deal=deal, user=sales_user, stage=stage("Won"), next_step="Send contract")
    deal.refresh_from_db()
    assert (deal.stage.name, deal.next_step) == ("Won", "Send contract")
    assert deal.closed_at is not None
    assert deal.stage_changes.count() == 2


def test_stage_move_announces_the_contact_change(sales_user, django_capture_on_commit_callbacks):
    contact = ContactFactory()
    received = []

    def listener(sender, contact_ids, fact, **kwargs):
        received.append((contact_ids, fact))

    crm_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            deal = services.deal_create(
                user=sales_user, title="Signal", stage=stage("Lead-in"), contact=contact
            )
        with django_capture_on_commit_callbacks(execute=True):
            services.deal_move(deal=deal, stage=stage("Proposal"), user=sales_user)
    finally:
        crm_changed.disconnect(listener)
    assert received == [([contact.pk], "deal"), ([contact.pk], "deal")]


def test_saving_a_new_default_pipeline_takes_the_flag():
    partners = services.pipeline_save(pipeline=Pipeline(name="Partners", is_default=True))
    assert list(Pipeline.objects.filter(is_default=True)) == [partners]
    sales = sales_pipeline()
    sales.is_default = True
    services.pipeline_save(pipeline=sales)
    assert list(Pipeline.objects.filter(is_default=True)) == [sales]
