"""Ticket pages: queue views and filters, fixed query counts, detail with htmx changes, create, panels."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Company, Tag
from tickets import services
from tickets.models import Status, Ticket

from .factories import ContactFactory, TeamFactory, ticket_make, tickets_bulk

pytestmark = pytest.mark.django_db

QUEUE = "/tickets/"


def subjects(response) -> set[str]:
    return {t.subject for t in response.context["page_obj"].object_list}


def test_queue_views_mine_unassigned_open_breached_and_breaching(support_client, support_user):
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        ticket_make(
            user=support_user, subject="Mine", assignee=support_user, status=Status.OPEN, priority="low"
        )
        ticket_make(user=support_user, subject="Nobody's", priority="low")
        urgent = ticket_make(
            user=support_user, subject="Urgent one", priority="urgent"
        )  # 30 min first response
        solved = ticket_make(user=support_user, subject="Solved", priority="low", status=Status.OPEN)
        services.ticket_status_change(user=support_user, ticket=solved, status=Status.SOLVED)
    with time_machine.travel(start + datetime.timedelta(minutes=10), tick=False):
        assert subjects(support_client.get(QUEUE, {"view": "mine"})) == {"Mine"}
        assert subjects(support_client.get(QUEUE, {"view": "unassigned"})) == {"Nobody's", "Urgent one"}
        assert subjects(support_client.get(QUEUE)) == {"Mine", "Nobody's", "Urgent one"}
        assert subjects(support_client.get(QUEUE, {"view": "breaching"})) == {"Urgent one"}
        assert subjects(support_client.get(QUEUE, {"view": "breached"})) == set()
        assert subjects(support_client.get(QUEUE, {"view": "all"})) == {
            "Mine",
            "Nobody's",
            "Urgent one",
            "Solved",
        }
    with time_machine.travel(start + datetime.timedelta(hours=1), tick=False):
        response = support_client.get(QUEUE, {"view": "breached"})
        assert subjects(response) == {"Urgent one"}
        assert response.context["counts"]["breached"] == 1
        assert "Breached" in response.content.decode()
    assert urgent.pk


def test_queue_sorts_by_sla_due_first(support_client, support_user):
    ticket_make(user=support_user, subject="Low", priority="low")
    ticket_make(user=support_user, subject="Urgent", priority="urgent")
    ticket_make(user=support_user, subject="High", priority="high")
    response = support_client.get(QUEUE)
    assert [t.subject for t in response.context["page_obj"].object_list] == ["Urgent", "High", "Low"]


def test_queue_filters_by_status_priority_team_channel_tag_and_search(support_client, support_user):
    billing = TeamFactory(name="Billing")
    ticket_make(
        user=support_user,
        subject="Refund please",
        team=billing,
        channel="chat",
        tags=["refund"],
        priority="high",
    )
    ticket_make(
        user=support_user, subject="Broken lamp", channel="phone", contact=ContactFactory(last_name="Quigley")
    )
    tag = Tag.objects.get(name="refund")
    for params in (
        {"team": billing.pk},
        {"channel": "chat"},
        {"tag": tag.pk},
        {"priority": "high"},
        {"q": "refund"},
    ):
        assert subjects(support_client.get(QUEUE, params)) == {"Refund please"}, params
    assert subjects(support_client.get(QUEUE, {"status": "new", "q": "Quigley"})) == {"Broken lamp"}
    lamp = Ticket.objects.get(subject="Broken lamp")
    assert subjects(support_client.get(QUEUE, {"q": f"#{lamp.pk}"})) == {"Broken lamp"}


def test_queue_htmx_returns_only_the_results(support_client, support_user):
    ticket_make(user=support_user)
    response = support_client.get(QUEUE, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and '<nav class="navbar' not in html and "bulk-form" in html


def _queue_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(QUEUE, {"view": "all"})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_queue_runs_the_same_number_of_queries_for_3_and_1000_tickets(
    support_client, support_user, django_assert_num_queries
):
    contact = ContactFactory(company=Company.objects.create(name="Acme"))
    team = TeamFactory(name="Returns")
    tickets_bulk(count=3, contact=contact, team=team, assignee=support_user)
    Tag.objects.create(name="vip")
    for ticket in Ticket.objects.all():
        ticket.tags.add(Tag.objects.get(name="vip"))
    small = _queue_queries(support_client)
    tickets_bulk(count=997, contact=contact, team=team, assignee=support_user)
    assert Ticket.objects.count() == 1000
    with django_assert_num_queries(small):
        response = support_client.get(QUEUE, {"view": "all"})
    assert len(response.context["page_obj"].object_list) == 50


def test_detail_shows_thread_with_distinct_internal_notes_and_sidebar(support_client, support_user):
    contact = ContactFactory(first_name="Nora", last_name="Field")
    ticket = ticket_make(user=support_user, contact=contact, body="It broke")
    older = ticket_make(user=support_user, contact=contact, subject="Earlier problem")
    services.ticket_reply(user=support_user, ticket=ticket, body="Secret VIP customer", internal=True)
    services.ticket_reply(user=support_user, ticket=ticket, body="We are on it")
    response = support_client.get(ticket.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "internal-note" in html and "Secret VIP customer" in html and "Internal note" in html
    assert "We are on it" in html and "Public reply" in html and "It broke" in html
    assert "Nora Field" in html and "Not a member" in html
    assert older.subject in html  # the customer's other tickets
    assert "created the ticket" in html


def test_detail_shows_loyalty_tier_and_points(support_client, support_user):
    from contacts.models import LoyaltyAccount

    contact = ContactFactory()
    LoyaltyAccount.objects.create(
        contact=contact, tier="gold", points_balance=1234, member_since=datetime.date(2024, 1, 1)
    )
    html = support_client.get(
        ticket_make(user=support_user, contact=contact).get_absolute_url()
    ).content.decode()
    assert "Gold" in html and "1234 points" in html


def test_detail_query_count_does_not_grow_with_the_thread(
    support_client, support_user, django_assert_num_queries
):
    ticket = ticket_make(user=support_user)
    services.ticket_reply(user=support_user, ticket=ticket, body="one")
    with CaptureQueriesContext(connection) as ctx:
        support_client.get(ticket.get_absolute_url())
    for i in range(20):
        services.ticket_reply(user=support_user, ticket=ticket, body=f"reply {i}", internal=i % 2 == 0)
        services.ticket_priority_change(user=support_user, ticket=ticket, priority=["high", "low"][i % 2])
    with django_assert_num_queries(len(ctx.captured_queries)):
        support_client.get(ticket.get_absolute_url())


def test_htmx_reply_adds_message_and_updates_properties(support_client, support_user):
    ticket = ticket_make(user=support_user)
    url = reverse("tickets:ticket_reply", args=[ticket.pk])
    response = support_client.post(url, {"body": "Looking into it", "internal": ""}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "Looking into it" in html
    assert 'id="ticket-properties" hx-swap-oob="true"' in html
    assert "HX-Trigger" in response.headers
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None and ticket.status == Status.OPEN


def test_empty_reply_shows_the_error_and_keeps_nothing(support_client, support_user):
    ticket = ticket_make(user=support_user)
    response = support_client.post(
        reverse("tickets:ticket_reply", args=[ticket.pk]), {"body": "  "}, HTTP_HX_REQUEST="true"
    )
    assert "This field is required" in response.content.decode()
    assert ticket.messages.count() == 1


def test_inline_status_change_is_recorded_and_shown(support_client, support_user):
    ticket = ticket_make(user=support_user, status=Status.OPEN)
    url = reverse("tickets:ticket_update", args=[ticket.pk])
    response = support_client.post(url, {"status": "pending"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "Open → <strong>Pending</strong>" in html
    assert 'id="ticket-header-badges" hx-swap-oob="true"' in html
    event = ticket.events.get(field="status")
    assert (event.actor, event.from_value, event.to_value) == (support_user, "Open", "Pending")


def test_invalid_inline_change_answers_with_an_error_toast(support_client, support_user):
    ticket = ticket_make(user=support_user, status=Status.OPEN)
    response = support_client.post(
        reverse("tickets:ticket_update", args=[ticket.pk]), {"status": "closed"}, HTTP_HX_REQUEST="true"
    )
    assert "Solve the ticket before closing it" in response.headers["HX-Trigger"]
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_inline_assign_priority_and_team(support_client, support_user):
    ticket = ticket_make(user=support_user)
    team = TeamFactory(name="Billing")
    url = reverse("tickets:ticket_update", args=[ticket.pk])
    support_client.post(url, {"assignee": support_user.pk}, HTTP_HX_REQUEST="true")
    support_client.post(url, {"priority": "urgent"}, HTTP_HX_REQUEST="true")
    support_client.post(url, {"team": team.pk}, HTTP_HX_REQUEST="true")
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.priority, ticket.team, ticket.status) == (
        support_user,
        "urgent",
        team,
        "open",
    )
    assert set(ticket.events.values_list("field", flat=True)) == {
        "created",
        "assignee",
        "status",
        "priority",
        "team",
    }


def test_bulk_assign_and_status_change(support_client, support_user):
    a, b, c = (ticket_make(user=support_user, subject=s) for s in "abc")
    url = reverse("tickets:queue_bulk")
    ids = [a.pk, b.pk]
    assigned = support_client.post(
        url, {"action": "assignee", "ids": ids, "assignee": str(support_user.pk), "querystring": "view=all"}
    )
    assert assigned.status_code == 302 and assigned["Location"].endswith("?view=all")
    support_client.post(url, {"action": "status", "ids": ids, "status": "pending", "querystring": "view=all"})
    assert set(
        Ticket.objects.filter(assignee=support_user, status="pending").values_list("pk", flat=True)
    ) == {a.pk, b.pk}
    c.refresh_from_db()
    assert c.assignee is None and c.status == "new"


def test_bulk_without_a_selection_changes_nothing(support_client, support_user):
    ticket_make(user=support_user)
    response = support_client.post(
        reverse("tickets:queue_bulk"), {"action": "status", "status": "pending"}, follow=True
    )
    assert "Select at least one ticket" in response.content.decode()
    assert not Ticket.objects.filter(status="pending").exists()


def test_create_from_contact_page_is_prefilled(support_client, support_user):
    contact = ContactFactory(first_name="Ivy")
    response = support_client.get(reverse("tickets:ticket_create"), {"contact": contact.pk})
    assert "Ivy" in response.content.decode()
    response = support_client.post(
        reverse("tickets:ticket_create"),
        {
            "contact": contact.pk,
            "subject": "Wrong size",
            "body": "Too small",
            "priority": "high",
            "channel": "phone",
            "tags": "returns, sizing",
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == ticket.get_absolute_url()
    assert ticket.contact == contact and ticket.priority == "high" and ticket.created_by == support_user
    assert set(ticket.tags.values_list("name", flat=True)) == {"returns", "sizing"}


def test_create_with_new_email_creates_the_contact_and_shows_errors(support_client):
    response = support_client.post(
        reverse("tickets:ticket_create"), {"subject": "", "priority": "low", "channel": "web"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Enter the customer" in html and "is-invalid" in html
    support_client.post(
        reverse("tickets:ticket_create"),
        {
            "requester_email": "new@example.com",
            "requester_name": "New Person",
            "subject": "Hi",
            "priority": "low",
            "channel": "web",
        },
    )
    assert Ticket.objects.get().contact.email == "new@example.com"


def test_sales_reads_tickets_but_cannot_change_them(sales_client, support_user):
    ticket = ticket_make(user=support_user)
    assert sales_client.get(QUEUE).status_code == 200
    page = sales_client.get(ticket.get_absolute_url())
    assert page.status_code == 200 and "reply-form" not in page.content.decode()
    assert sales_client.get(reverse("tickets:ticket_create")).status_code == 403
    assert (
        sales_client.post(reverse("tickets:ticket_reply", args=[ticket.pk]), {"body": "x"}).status_code == 403
    )
    assert (
        sales_client.post(
            reverse("tickets:ticket_update", args=[ticket.pk]), {"status": "solved"}
        ).status_code
        == 403
    )
    assert (
        sales_client.post(
            reverse("tickets:queue_bulk"), {"action": "status", "ids": [ticket.pk], "status": "solved"}
        ).status_code
        == 403
    )
    ticket.refresh_from_db()
    assert ticket.status == "new" and ticket.messages.count() == 1


def test_marketing_reads_the_queue(marketing_client):
    assert marketing_client.get(QUEUE).status_code == 200


def test_contact_and_company_panels_list_tickets(support_client, support_user, django_assert_num_queries):
    company = Company.objects.create(name="Acme")
    contact = ContactFactory(company=company)
    ticket_make(user=support_user, contact=contact, subject="Panel ticket")
    response = support_client.get(reverse("tickets:contact_tickets", args=[contact.pk]))
    html = response.content.decode()
    assert "Panel ticket" in html and f"?contact={contact.pk}" in html
    assert (
        "Panel ticket"
        in support_client.get(reverse("tickets:company_tickets", args=[company.pk])).content.decode()
    )
    with CaptureQueriesContext(connection) as ctx:
        support_client.get(reverse("tickets:contact_tickets", args=[contact.pk]))
    for i in range(10):
        ticket_make(user=support_user, contact=contact, subject=f"More {i}", assignee=support_user)
    with django_assert_num_queries(len(ctx.captured_queries)):
        support_client.get(reverse("tickets:contact_tickets", args=[contact.pk]))


def test_panels_are_registered_for_contact_and_company_pages(support_user, sales_user):
    from contacts.panels import company_panels_for, contact_panels_for

    assert any(p["panel"].key == "tickets" for p in contact_panels_for(user=support_user, contact_id=1))
    assert any(p["panel"].key == "tickets" for p in company_panels_for(user=sales_user, company_id=1))


def test_global_search_finds_tickets_by_subject_and_reference(support_client, support_user):
    ticket = ticket_make(user=support_user, subject="Zebra print dress")
    html = support_client.get("/search/", {"q": "zebra"}).content.decode()
    assert "Zebra print dress" in html
    assert "Zebra print dress" in support_client.get("/search/", {"q": f"#{ticket.pk}"}).content.decode()


def test_metrics_report_page_is_listed_and_renders(support_client, support_user):
    ticket = ticket_make(user=support_user, team=TeamFactory(name="Billing"))
    services.ticket_reply(user=support_user, ticket=ticket, body="hi")
    assert reverse("tickets:metrics") in support_client.get("/reports/").content.decode()
    html = support_client.get(reverse("tickets:metrics")).content.decode()
    assert "Billing" in html and "100.0%" in html


def test_inline_tags_edit_and_missing_ticket_page(support_client, support_user):
    ticket = ticket_make(user=support_user, tags=["old"])
    url = reverse("tickets:ticket_update", args=[ticket.pk])
    response = support_client.post(url, {"tags": "refund, vip "}, HTTP_HX_REQUEST="true")
    assert 'value="refund, vip"' in response.content.decode()
    assert set(ticket.tags.values_list("name", flat=True)) == {"refund", "vip"}
    missing = support_client.get(reverse("tickets:ticket_detail", args=[ticket.pk + 100]))
    assert missing.status_code == 404 and "This ticket does not exist" in missing.content.decode()
