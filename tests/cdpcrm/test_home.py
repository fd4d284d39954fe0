"""The home page follows the role: support gets its tickets breaching first, sales its tasks and this month's
deals, marketing source and segment health; a fixed number of queries whatever the data."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from profiles.models import Source
from segments.models import Segment
from tests.contacts.factories import ContactFactory, TaskFactory
from tests.pipeline.factories import deal_make
from tests.tickets.factories import ticket_make

pytestmark = pytest.mark.django_db


def _sections(response) -> list[str]:
    return [entry["section"].key for entry in response.context["sections"]]


def test_support_lands_on_its_tickets_breaching_first(support_client, support_user):
    ticket_make(user=support_user, subject="Can wait", priority="low", assignee=support_user)
    ticket_make(user=support_user, subject="On fire", priority="urgent", assignee=support_user)
    ticket_make(user=support_user, subject="Someone else's", priority="urgent")
    response = support_client.get("/")
    assert _sections(response)[0] == "tickets" and "deals" not in _sections(response)
    tickets = response.context["sections"][0]["my_tickets"]
    assert [t.subject for t in tickets] == ["On fire", "Can wait"]
    assert "My tickets, breaching first" in response.content.decode()


def test_sales_lands_on_deals_closing_this_month_and_tasks(sales_client, sales_user):
    today = timezone.localdate()
    deal_make(user=sales_user, title="Closing soon", expected_close_date=today.replace(day=1))
    deal_make(user=sales_user, title="Next year", expected_close_date=today + datetime.timedelta(days=400))
    TaskFactory(assignee=sales_user, title="Call back", contact=ContactFactory())
    response = sales_client.get("/")
    assert _sections(response)[:2] == ["deals", "tasks"] and "tickets" not in _sections(response)
    html = response.content.decode()
    assert "Closing soon" in html and "Next year" not in html and "Call back" in html


def test_marketing_lands_on_source_and_segment_health(marketing_client):
    Source.objects.create(name="Website", kind="website", write_key_hash="x" * 64, write_key_prefix="wk")
    Segment.objects.create(name="VIP shoppers", rule={"trait": "tier", "op": "eq", "value": "vip"})
    response = marketing_client.get("/")
    assert _sections(response)[:2] == ["sources", "segments"]
    html = response.content.decode()
    assert "Website" in html and "Quiet for a day" in html and "VIP shoppers" in html


def test_each_home_runs_the_same_queries_for_1_or_many_rows(
    support_client, support_user, django_assert_num_queries
):
    ticket_make(user=support_user, assignee=support_user)
    with CaptureQueriesContext(connection) as one:
        support_client.get("/")
    for _ in range(12):
        ticket_make(user=support_user, assignee=support_user)
    with django_assert_num_queries(len(one.captured_queries)):
        support_client.get("/")
