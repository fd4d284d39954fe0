"""Contact and company pages: list filters, sorting, CSV, detail, inline edit, htmx, tasks, loyalty."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Activity, Contact, LoyaltyAccount, RecentView, Task

from .factories import (
    ActivityFactory,
    CompanyFactory,
    ContactFactory,
    LoyaltyAccountFactory,
    TagFactory,
    TaskFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _names(response) -> list[str]:
    return [c.full_name for c in response.context["contacts"]]


def test_contact_list_filters_by_owner_lifecycle_tag_company_and_search(sales_client, sales_user):
    vip = TagFactory(name="VIP")
    acme = CompanyFactory(name="Acme Boutique")
    alice = ContactFactory(first_name="Alice", last_name="Able", owner=sales_user, lifecycle_stage="customer")
    alice.tags.add(vip)
    ContactFactory(first_name="Bob", last_name="Best", owner=sales_user, lifecycle_stage="lead", company=acme)
    ContactFactory(first_name="Cleo", last_name="Cole", lifecycle_stage="customer")
    url = reverse("contacts:contact_list")
    assert _names(sales_client.get(url, {"owner": "me"})) == ["Alice Able", "Bob Best"]
    assert _names(sales_client.get(url, {"lifecycle": "customer"})) == ["Alice Able", "Cleo Cole"]
    assert _names(sales_client.get(url, {"tag": "VIP"})) == ["Alice Able"]
    assert _names(sales_client.get(url, {"company": acme.pk})) == ["Bob Best"]
    assert _names(sales_client.get(url, {"q": "acme"})) == ["Bob Best"]
    page = sales_client.get(url, {"q": "nobody-matches"}).content.decode()
    assert "No contacts match these filters" in page


def test_contact_list_sorts_by_column_both_ways(sales_client):
    ContactFactory(first_name="A", last_name="Zulu", lifecycle_stage="lead")
    ContactFactory(first_name="B", last_name="Alpha", lifecycle_stage="customer")
    url = reverse("contacts:contact_list")
    assert _names(sales_client.get(url)) == ["B Alpha", "A Zulu"]
    assert _names(sales_client.get(url, {"sort": "-name"})) == ["A Zulu", "B Alpha"]
    assert _names(sales_client.get(url, {"sort": "-lifecycle"})) == ["B Alpha", "A Zulu"]
    assert _names(sales_client.get(url, {"sort": "lifecycle"})) == ["A Zulu", "B Alpha"]


def test_contact_list_paginates_and_htmx_gets_only_the_table(sales_client):
    for i in range(30):
        ContactFactory(last_name=f"Person{i:02d}")
    url = reverse("contacts:contact_list")
    first = sales_client.get(url)
    assert len(first.context["contacts"]) == 25 and "1 / 2" in first.content.decode()
    assert len(sales_client.get(url, {"page": 2}).context["contacts"]) == 5
    partial = sales_client.get(url, {"q": "Person0"}, HTTP_HX_TARGET="contact-table", **HTMX)
    html = partial.content.decode()
    assert '<nav class="navbar' not in html and "Person05" in html
    assert [t.name for t in partial.templates][0] == "lists/results.html"


def test_csv_export_streams_the_filtered_list(sales_client):
    tag = TagFactory(name="newsletter")
    keep = ContactFactory(
        first_name="Keep", email="keep@example.com", phone="+14155552671", lifecycle_stage="mql"
    )
    keep.tags.add(tag)
    ContactFactory(first_name="Drop", lifecycle_stage="lead")
    response = sales_client.get(reverse("contacts:contact_export"), {"lifecycle": "mql"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["email"] for r in rows] == ["keep@example.com"]
    assert rows[0]["phone"] == "+14155552671" and rows[0]["tags"] == "newsletter"


def test_csv_export_defuses_spreadsheet_formulas(sales_client):
    ContactFactory(first_name='=HYPERLINK("x")', last_name="Evil")
    body = b"".join(sales_client.get(reverse("contacts:contact_export")).streaming_content).decode()
    assert "'=HYPERLINK" in body


def test_contact_detail_shows_facts_feed_tasks_loyalty_and_records_the_view(sales_client, sales_user):
    contact = ContactFactory(first_name="Nina", last_name="Ortiz", job_title="Buyer")
    ActivityFactory(contact=contact, kind="call", subject="Asked about linen shirts")
    TaskFactory(contact=contact, title="Send the summer catalogue")
    account = LoyaltyAccountFactory(contact=contact, tier="gold", points_balance=0)
    html = sales_client.get(contact.get_absolute_url()).content.decode()
    for text in ("Nina Ortiz", "Buyer", "Asked about linen shirts", "Send the summer catalogue", "Gold"):
        assert text in html
    assert account.program in html
    assert RecentView.objects.filter(user=sales_user, contact=contact).exists()


def test_missing_contact_is_a_friendly_404(sales_client):
    response = sales_client.get(reverse("contacts:contact_detail", args=[999999]))
    assert response.status_code == 404 and "does not exist" in response.content.decode()


def test_inline_edit_shows_field_errors_then_saves(sales_client):
    ContactFactory(email="taken@example.com")
    contact = ContactFactory(first_name="Ines", last_name="Moreau", email="ines@example.com")
    url = reverse("contacts:contact_edit", args=[contact.pk])
    form = sales_client.get(url, **HTMX)
    assert "contact-facts" in form.content.decode() and "<form" in form.content.decode()
    data = {
        "first_name": "Ines",
        "last_name": "Moreau",
        "email": "TAKEN@example.com",
        "lifecycle_stage": "sql",
    }
    error = sales_client.post(url, data, **HTMX)
    html = error.content.decode()
    assert error.status_code == 200 and "Another contact already uses this email address." in html
    assert "is-invalid" in html
    bad_phone = sales_client.post(url, {**data, "email": "ines@example.com", "phone": "12"}, **HTMX)
    assert "phone" in bad_phone.context["form"].errors
    saved = sales_client.post(url, {**data, "email": "ines@example.com", "tags": "VIP, returns-risk"}, **HTMX)
    assert "Sales qualified lead" in saved.content.decode() and "HX-Trigger" in saved
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "sql"
    assert sorted(contact.tags.values_list("name", flat=True)) == ["VIP", "returns-risk"]


def test_full_page_create_and_edit(sales_client, sales_user):
    response = sales_client.post(
        reverse("contacts:contact_create"),
        {
            "first_name": "Zoe",
            "last_name": "Park",
            "email": "Zoe@Example.com",
            "lifecycle_stage": "lead",
            "owner": sales_user.pk,
        },
    )
    contact = Contact.objects.get(email="zoe@example.com")
    assert response.status_code == 302 and response["Location"] == contact.get_absolute_url()
    assert contact.owner == sales_user
    empty = sales_client.post(reverse("contacts:contact_create"), {"lifecycle_stage": "lead"})
    assert (
        empty.status_code == 200 and "Give the contact a name or an email address." in empty.content.decode()
    )


def test_logging_a_call_with_htmx_returns_the_new_entry_for_the_top_of_the_feed(sales_client, sales_user):
    contact = ContactFactory()
    url = reverse("contacts:contact_activity_create", args=[contact.pk])
    response = sales_client.post(
        url,
        {"kind": "call", "subject": "Sizing question", "direction": "in", "duration_minutes": "5"},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'hx-swap-oob="afterbegin:#activity-feed"' in html and "Sizing question" in html
    activity = Activity.objects.get(contact=contact)
    assert (activity.kind, activity.author, activity.duration_minutes) == ("call", sales_user, 5)


def test_logging_an_empty_note_shows_the_error_in_the_form(sales_client):
    contact = ContactFactory()
    url = reverse("contacts:contact_activity_create", args=[contact.pk])
    response = sales_client.post(url, {"kind": "note", "subject": "", "body": ""}, **HTMX)
    html = response.content.decode()
    assert "Write something in the note." in html and "activity-feed" not in html
    assert not Activity.objects.exists()


def test_company_page_logs_activities_and_lists_its_contacts(sales_client):
    company = CompanyFactory(name="Nordic Knits")
    person = ContactFactory(company=company, first_name="Lena")
    ActivityFactory(contact=person, subject="Reorder of wool scarves")
    html = sales_client.get(company.get_absolute_url()).content.decode()
    assert "Nordic Knits" in html and "Lena" in html and "Reorder of wool scarves" in html
    url = reverse("contacts:company_activity_create", args=[company.pk])
    sales_client.post(url, {"kind": "meeting", "subject": "Showroom visit"}, **HTMX)
    assert Activity.objects.filter(company=company, kind="meeting").exists()


def test_company_create_refuses_a_duplicate_domain(sales_client):
    CompanyFactory(domain="atelier.example")
    response = sales_client.post(
        reverse("contacts:company_create"), {"name": "Copy", "domain": "Atelier.example"}
    )
    assert (
        response.status_code == 200
        and "Another company already uses this domain." in response.content.decode()
    )
    ok = sales_client.post(
        reverse("contacts:company_create"), {"name": "Atelier Two", "domain": "two.example"}
    )
    assert ok.status_code == 302


def test_task_added_on_the_contact_and_completed_by_click(sales_client, sales_user):
    contact = ContactFactory()
    add = sales_client.post(
        reverse("contacts:contact_task_create", args=[contact.pk]), {"title": "Call about returns"}, **HTMX
    )
    assert "Call about returns" in add.content.decode()
    task = Task.objects.get(contact=contact)
    assert task.assignee == sales_user
    done = sales_client.post(reverse("contacts:task_toggle", args=[task.pk]), {"row": "my"}, **HTMX)
    assert done.status_code == 200 and "check-circle-fill" in done.content.decode()
    task.refresh_from_db()
    assert task.is_done
    sales_client.post(reverse("contacts:task_toggle", args=[task.pk]), **HTMX)
    task.refresh_from_db()
    assert not task.is_done


def test_my_tasks_lists_only_my_open_tasks_overdue_first(sales_client, sales_user):
    from django.utils import timezone

    now = timezone.now()
    TaskFactory(assignee=sales_user, title="Later", due_at=now + timezone.timedelta(days=3))
    TaskFactory(assignee=sales_user, title="Overdue", due_at=now - timezone.timedelta(days=1))
    TaskFactory(title="Someone else's")
    TaskFactory(assignee=sales_user, title="Finished", done_at=now)
    response = sales_client.get(reverse("contacts:task_list"))
    assert [t.title for t in response.context["tasks"]] == ["Overdue", "Later"]
    assert "overdue" in response.content.decode()
    done = sales_client.get(reverse("contacts:task_list"), {"status": "done"})
    assert [t.title for t in done.context["tasks"]] == ["Finished"]


def test_loyalty_panel_enroll_points_redeem_and_errors(support_client):
    contact = ContactFactory()
    url = lambda action: reverse("contacts:contact_loyalty", args=[contact.pk, action])  # noqa: E731
    enrolled = support_client.post(url("enroll"), {"tier": "silver"}, **HTMX)
    assert "Silver" in enrolled.content.decode()
    support_client.post(url("points"), {"kind": "earned", "points_delta": "250", "text": "Order #1"}, **HTMX)
    too_much = support_client.post(url("points"), {"kind": "redeemed", "points_delta": "900"}, **HTMX)
    assert "Not enough points: the balance is 250." in too_much.content.decode()
    support_client.post(url("points"), {"kind": "redeemed", "points_delta": "100"}, **HTMX)
    support_client.post(url("tier"), {"tier": "gold", "text": "Big spender"}, **HTMX)
    note = support_client.post(url("note"), {"text": "Prefers SMS"}, **HTMX)
    html = note.content.decode()
    assert "Prefers SMS" in html and "Gold" in html
    account = LoyaltyAccount.objects.get(contact=contact)
    assert (account.points_balance, account.tier) == (150, "gold")


def test_marketing_reads_contacts_but_cannot_write(marketing_client):
    contact = ContactFactory()
    assert marketing_client.get(contact.get_absolute_url()).status_code == 200
    html = marketing_client.get(contact.get_absolute_url()).content.decode()
    assert 'id="activity-form"' not in html and 'id="contact-edit-inline"' not in html
    assert marketing_client.get(reverse("contacts:contact_create")).status_code == 403
    assert marketing_client.post(reverse("contacts:contact_edit", args=[contact.pk]), {}).status_code == 403
    activity_url = reverse("contacts:contact_activity_create", args=[contact.pk])
    assert marketing_client.post(activity_url, {"kind": "note", "body": "x"}).status_code == 403
    loyalty_url = reverse("contacts:contact_loyalty", args=[contact.pk, "enroll"])
    assert marketing_client.post(loyalty_url, {"tier": "gold"}).status_code == 403


def test_lifecycle_report_counts_contacts_per_owner_and_stage(sales_client, sales_user):
    ContactFactory.create_batch(3, owner=sales_user, lifecycle_stage="customer")
    ContactFactory(owner=sales_user, lifecycle_stage="lead")
    ContactFactory(owner=None, lifecycle_stage="lead")
    response = sales_client.get(reverse("contacts:lifecycle_report"))
    report = response.context["report"]
    row = next(r for r in report["rows"] if r["owner"] == sales_user)
    counts = {c["stage"]: c["count"] for c in row["cells"]}
    assert counts["customer"] == 3 and counts["lead"] == 1 and row["total"] == 4
    assert report["grand_total"] == 5
    assert "Unassigned" in response.content.decode()


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_contact_detail_runs_the_same_number_of_queries_for_1_or_30_activities(
    sales_client, django_assert_num_queries
):
    warm = ContactFactory()
    sales_client.get(warm.get_absolute_url())
    small = ContactFactory()
    ActivityFactory(contact=small)
    TaskFactory(contact=small)
    LoyaltyAccountFactory(contact=small)
    small.tags.add(TagFactory())
    expected = _queries(sales_client, small.get_absolute_url())
    big = ContactFactory()
    ActivityFactory.create_batch(30, contact=big)
    TaskFactory.create_batch(30, contact=big)
    account = LoyaltyAccountFactory(contact=big)
    from .factories import LoyaltyNoteFactory

    LoyaltyNoteFactory.create_batch(30, account=account)
    big.tags.add(*TagFactory.create_batch(5))
    with django_assert_num_queries(expected):
        sales_client.get(big.get_absolute_url())


def test_contact_list_runs_the_same_number_of_queries_for_1_or_30_rows(
    sales_client, django_assert_num_queries
):
    url = reverse("contacts:contact_list")
    sales_client.get(url)
    one = ContactFactory(company=CompanyFactory())
    one.tags.add(TagFactory(name="t-1"))
    ActivityFactory(contact=one)
    expected = _queries(sales_client, url)
    for i in range(29):
        contact = ContactFactory(company=CompanyFactory())
        contact.tags.add(TagFactory(name=f"t-{i % 4}"))
        ActivityFactory(contact=contact)
    with django_assert_num_queries(expected):
        response = sales_client.get(url)
    assert len(response.context["contacts"]) == 25


def test_pages_render_records_without_owner_or_author(sales_client):
    company = CompanyFactory(owner=None)
    contact = ContactFactory(owner=None, company=company)
    ActivityFactory(contact=contact, author=None, subject="Imported from the old shop")
    assert "Unassigned" in sales_client.get(reverse("contacts:contact_list")).content.decode()
    assert "by system" in sales_client.get(contact.get_absolute_url()).content.decode()
    assert sales_client.get(reverse("contacts:company_list")).status_code == 200
    assert "Imported from the old shop" in sales_client.get(company.get_absolute_url()).content.decode()


def test_activity_feed_shows_the_latest_page_and_loads_older_entries(sales_client):
    from datetime import timedelta

    from django.utils import timezone

    contact = ContactFactory()
    start = timezone.now()
    for i in range(35):
        ActivityFactory(contact=contact, subject=f"Entry {i:02d}", occurred_at=start - timedelta(hours=i))
    detail = sales_client.get(contact.get_absolute_url())
    assert [a.subject for a in detail.context["activities"]][:2] == ["Entry 00", "Entry 01"]
    assert len(detail.context["activities"]) == 30
    more_url = detail.context["feed_more_url"]
    assert more_url and 'id="feed-more"' in detail.content.decode()
    older = sales_client.get(more_url, **HTMX)
    html = older.content.decode()
    assert [a.subject for a in older.context["activities"]] == [f"Entry {i}" for i in range(30, 35)]
    assert "Entry 29" not in html and 'id="feed-more"' not in html


def test_marketing_cannot_delete(marketing_client):
    contact = ContactFactory()
    assert marketing_client.post(reverse("contacts:contact_delete", args=[contact.pk])).status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_sales_deletes_a_contact_and_a_company_keeping_its_contacts(sales_client):
    contact = ContactFactory()
    company = CompanyFactory()
    kept = ContactFactory(company=company)
    edit_page = sales_client.get(reverse("contacts:contact_edit", args=[contact.pk])).content.decode()
    assert 'id="contact-delete"' in edit_page
    response = sales_client.post(reverse("contacts:contact_delete", args=[contact.pk]))
    assert response.status_code == 302 and not Contact.objects.filter(pk=contact.pk).exists()
    sales_client.post(reverse("contacts:company_delete", args=[company.pk]))
    kept.refresh_from_db()
    assert kept.company is None
