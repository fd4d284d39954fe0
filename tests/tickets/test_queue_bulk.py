"""The queue as a list page: bulk tags, export and delete, saved views, columns, phone cards."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import SavedView
from tickets.models import Ticket

from .factories import ticket_make

pytestmark = pytest.mark.django_db
BULK = "/tickets/bulk/"


def _post(client, action, tickets, **data):
    return client.post(BULK, {"action": action, "ids": [t.pk for t in tickets], **data})


def test_bulk_tags_added_and_removed_in_fixed_queries(
    support_client, support_user, django_assert_num_queries
):
    few = [ticket_make(user=support_user) for _ in range(2)]
    many = [ticket_make(user=support_user) for _ in range(20)]
    _post(support_client, "tags_add", few, tags_add="refund, vip")
    with CaptureQueriesContext(connection) as two:
        _post(support_client, "tags_add", few, tags_add="refund, vip")
    with django_assert_num_queries(len(two.captured_queries)):
        _post(support_client, "tags_add", many, tags_add="refund, vip")
    _post(support_client, "tags_remove", few, tags_remove="VIP")
    assert {t.name for t in few[0].tags.all()} == {"refund"}
    assert {t.name for t in many[0].tags.all()} == {"refund", "vip"}


def test_bulk_export_and_delete_with_confirmation(support_client, support_user):
    chosen = [ticket_make(user=support_user, subject=f"Chosen {i}") for i in range(2)]
    left = ticket_make(user=support_user, subject="Left")
    exported = _post(support_client, "export", chosen)
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert sorted(row["subject"] for row in rows) == ["Chosen 0", "Chosen 1"]
    confirm = _post(support_client, "delete", chosen)
    assert "Delete 2 tickets?" in confirm.content.decode() and Ticket.objects.count() == 3
    _post(support_client, "delete", chosen, confirm="yes")
    assert list(Ticket.objects.all()) == [left]


def test_marketing_reads_the_queue_but_may_only_export(marketing_client, support_user):
    ticket = ticket_make(user=support_user)
    page = marketing_client.get(reverse("tickets:queue"))
    assert [a.key for a in page.context["bulk_actions"]] == ["export"]
    assert _post(marketing_client, "delete", [ticket], confirm="yes").status_code == 403
    assert Ticket.objects.exists()


def test_a_saved_queue_view_with_columns_and_sort(support_client, support_user):
    ticket_make(user=support_user, subject="Old", priority="low")
    ticket_make(user=support_user, subject="New", priority="low")
    support_client.post(
        reverse("contacts:saved_view_save"),
        {
            "list": "tickets",
            "name": "Low, newest",
            "querystring": "view=all&priority=low&sort=-created&cols=tags",
        },
    )
    view = SavedView.objects.get(list_key="tickets")
    tab = support_client.get(reverse("tickets:queue")).context["view_tabs"][0]
    opened = support_client.get(reverse("tickets:queue") + "?" + tab["querystring"])
    assert [t.subject for t in opened.context["page_obj"].object_list] == ["New", "Old"]
    assert [h["column"].key for h in opened.context["headers"]] == ["ticket", "tags"]
    assert opened.context["active_view"]["view"] == view


def test_phones_get_cards_with_status_and_sla_and_filters_fold_away(support_client, support_user):
    ticket_make(user=support_user, subject="On a phone")
    html = support_client.get(reverse("tickets:queue")).content.decode()
    cards = html.split('class="list-group list-group-flush d-md-none list-cards"')[1]
    assert "On a phone" in cards and "sla-badge" in cards and "text-bg-" in cards
    assert 'class="collapse d-md-block" id="queue-filter-panel"' in html
