"""The deals list's bulk actions: owner, stage (with history and the lost rule), export, delete; saved views."""

import csv
import io

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import SavedView
from pipeline.models import Deal, DealStageChange

from .factories import PipelineFactory, StageFactory, deal_make, stage

pytestmark = pytest.mark.django_db
BULK = "/deals/list/bulk/"


def _post(client, action, deals, **data):
    return client.post(BULK, {"action": action, "ids": [d.pk for d in deals], **data})


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_bulk_move_records_history_and_close_times_like_a_drag(sales_client, sales_user):
    deals = [deal_make(user=sales_user, title=f"Bulk {i}") for i in range(3)]
    response = _post(sales_client, "stage", deals, stage=stage("Won").pk)
    assert "Moved 3 deals to Won." in _messages(response)
    for deal in Deal.objects.filter(pk__in=[d.pk for d in deals]):
        assert deal.stage.name == "Won" and deal.closed_at is not None
        change = deal.stage_changes.order_by("-id").first()
        assert (change.from_stage_name, change.to_stage_name, change.changed_by) == (
            "Lead-in",
            "Won",
            sales_user,
        )


def test_bulk_move_to_lost_needs_a_reason_and_another_pipeline_is_refused(sales_client, sales_user):
    deals = [deal_make(user=sales_user) for _ in range(2)]
    no_reason = _post(sales_client, "stage", deals, stage=stage("Lost").pk)
    assert any("Say why these deals were lost" in m for m in _messages(no_reason))
    other = StageFactory(pipeline=PipelineFactory(), name="Elsewhere")
    elsewhere = _post(sales_client, "stage", deals, stage=other.pk)
    assert any("in another pipeline" in m for m in _messages(elsewhere))
    assert set(Deal.objects.values_list("stage__name", flat=True)) == {"Lead-in"}
    _post(sales_client, "stage", deals, stage=stage("Lost").pk, lost_reason="Budget cut")
    assert set(Deal.objects.values_list("lost_reason", flat=True)) == {"Budget cut"}


def test_bulk_move_runs_the_same_queries_for_2_or_30_deals(
    sales_client, sales_user, django_assert_num_queries
):
    few = [deal_make(user=sales_user) for _ in range(2)]
    many = [deal_make(user=sales_user) for _ in range(30)]
    with CaptureQueriesContext(connection) as two:
        _post(sales_client, "stage", few, stage=stage("Proposal").pk)
    with django_assert_num_queries(len(two.captured_queries)):
        _post(sales_client, "stage", many, stage=stage("Proposal").pk)
    assert DealStageChange.objects.filter(to_stage_name="Proposal").count() == 32


def test_bulk_owner_export_and_delete_with_confirmation(sales_client, sales_user):
    deals = [deal_make(user=sales_user, title=f"Pick {i}", owner=None) for i in range(2)]
    left = deal_make(user=sales_user, title="Left")
    _post(sales_client, "owner", deals, owner=str(sales_user.pk))
    assert Deal.objects.filter(owner=sales_user).count() == 3
    _post(sales_client, "owner", deals, owner="none")
    assert Deal.objects.filter(owner__isnull=True).count() == 2
    exported = _post(sales_client, "export", deals)
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert sorted(row["title"] for row in rows) == ["Pick 0", "Pick 1"]
    confirm = _post(sales_client, "delete", deals)
    assert "Delete 2 deals?" in confirm.content.decode() and Deal.objects.count() == 3
    _post(sales_client, "delete", deals, confirm="yes")
    assert list(Deal.objects.all()) == [left]


def test_support_reads_the_list_but_has_no_bulk_changes(support_client, sales_user):
    deal = deal_make(user=sales_user)
    page = support_client.get(reverse("pipeline:deal_list"))
    assert [a.key for a in page.context["bulk_actions"]] == ["export"]
    assert _post(support_client, "stage", [deal], stage=stage("Won").pk).status_code == 403
    assert _post(support_client, "delete", [deal], confirm="yes").status_code == 403
    assert Deal.objects.get().stage.name == "Lead-in"


def test_a_saved_deal_view_keeps_the_pipeline_status_and_columns(sales_client, sales_user):
    deal_make(user=sales_user, title="Won one", stage_name="Won")
    deal_make(user=sales_user, title="Open one")
    sales_client.post(
        reverse("contacts:saved_view_save"),
        {
            "list": "deals",
            "name": "Won deals",
            "querystring": "status=won&cols=title,amount,weighted&sort=-amount",
        },
    )
    view = SavedView.objects.get(list_key="deals")
    tab = sales_client.get(reverse("pipeline:deal_list")).context["view_tabs"][0]
    opened = sales_client.get(reverse("pipeline:deal_list") + "?" + tab["querystring"])
    assert [d.title for d in opened.context["deals"]] == ["Won one"]
    assert [h["column"].key for h in opened.context["headers"]] == ["title", "amount", "weighted"]
    assert opened.context["active_view"]["view"] == view
