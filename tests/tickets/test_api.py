"""REST API: list filters (incl. breached), create/update through services, messages endpoint, roles."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets.models import Status, Ticket

from .factories import ContactFactory, ticket_make, tickets_bulk

pytestmark = pytest.mark.django_db

URL = "/api/tickets/"


def ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


def test_list_filters_status_priority_assignee_contact(support_api, support_user):
    contact = ContactFactory()
    a = ticket_make(
        user=support_user, contact=contact, priority="high", assignee=support_user, status=Status.OPEN
    )
    b = ticket_make(user=support_user, priority="low")
    assert ids(support_api.get(URL)) == {a.pk, b.pk}
    assert ids(support_api.get(URL, {"status": "open"})) == {a.pk}
    assert ids(support_api.get(URL, {"priority": "low"})) == {b.pk}
    assert ids(support_api.get(URL, {"assignee": support_user.pk})) == {a.pk}
    assert ids(support_api.get(URL, {"contact": contact.pk})) == {a.pk}
    assert support_api.get(URL, {"status": "bogus"}).status_code == 400


def test_breached_filter_uses_the_sla_clock(support_api, support_user):
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        late = ticket_make(user=support_user, priority="urgent")
        fine = ticket_make(user=support_user, priority="low")
    with time_machine.travel(start + datetime.timedelta(hours=2), tick=False):
        assert ids(support_api.get(URL, {"breached": "true"})) == {late.pk}
        assert ids(support_api.get(URL, {"breached": "false"})) == {fine.pk}
        row = support_api.get(f"{URL}{late.pk}/").json()
    assert row["breached"] is True and row["sla_state"] == "breached" and row["reference"] == f"#{late.pk}"


def test_list_query_count_is_fixed(support_api, support_user, django_assert_num_queries):
    contact = ContactFactory()
    tickets_bulk(count=2, contact=contact)
    with CaptureQueriesContext(connection) as ctx:
        support_api.get(URL)
    tickets_bulk(count=60, contact=contact, assignee=support_user)
    with django_assert_num_queries(len(ctx.captured_queries)):
        support_api.get(URL)


def test_create_and_patch_go_through_services(support_api, support_user):
    contact = ContactFactory()
    response = support_api.post(
        URL,
        {
            "contact": contact.pk,
            "subject": "API ticket",
            "body": "hello",
            "priority": "high",
            "tags": ["api"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert ticket.first_response_due_at is not None and ticket.messages.count() == 1
    response = support_api.patch(
        f"{URL}{ticket.pk}/", {"status": "pending", "priority": "urgent"}, format="json"
    )
    assert response.status_code == 200 and response.json()["paused"] is True
    assert set(ticket.events.values_list("field", flat=True)) == {"created", "status", "priority"}
    response = support_api.patch(f"{URL}{ticket.pk}/", {"status": "closed"}, format="json")
    assert response.status_code == 400 and "status" in response.json()


def test_create_errors_name_the_field(support_api):
    response = support_api.post(URL, {"subject": "", "priority": "mega"}, format="json")
    assert response.status_code == 400
    assert {"contact", "subject", "priority"} <= set(response.json())


def test_messages_list_and_create(support_api, support_user):
    ticket = ticket_make(user=support_user)
    url = f"{URL}{ticket.pk}/messages/"
    response = support_api.post(url, {"body": "Internal thought", "internal": True}, format="json")
    assert response.status_code == 201 and response.json()["internal"] is True
    response = support_api.post(url, {"body": "Public answer"}, format="json")
    assert response.status_code == 201
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None
    bodies = [m["body"] for m in support_api.get(url).json()["results"]]
    assert bodies == ["Where is my parcel?", "Internal thought", "Public answer"]
    assert support_api.post(url, {"body": ""}, format="json").status_code == 400


def test_sales_and_marketing_read_but_cannot_write(sales_api, marketing_api, support_user):
    ticket = ticket_make(user=support_user)
    for api in (sales_api, marketing_api):
        assert api.get(URL).status_code == 200
        assert api.get(f"{URL}{ticket.pk}/messages/").status_code == 200
        assert api.post(f"{URL}{ticket.pk}/messages/", {"body": "x"}, format="json").status_code == 403
        assert api.patch(f"{URL}{ticket.pk}/", {"status": "solved"}, format="json").status_code == 403
        assert api.post(URL, {"contact": ticket.contact_id, "subject": "x"}, format="json").status_code == 403
    assert ticket.messages.count() == 1


def test_anonymous_gets_401_or_403(client):
    assert client.get(URL).status_code in (401, 403)


def test_errors_follow_the_api_contract(support_api, support_user):
    unknown = support_api.post(
        URL, {"contact": ContactFactory().pk, "subject": "Hi", "urgency": "x"}, format="json"
    )
    assert unknown.status_code == 400 and unknown.json() == {"urgency": ["This field does not exist here."]}
    ticket = ticket_make(user=support_user)
    service_error = support_api.post(f"{URL}{ticket.pk}/messages/", {"body": ""}, format="json")
    assert service_error.status_code == 400
    assert all(isinstance(messages, list) for messages in service_error.json().values())
