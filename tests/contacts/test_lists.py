"""The contact list as a list page: saved views, columns, page size and jump, counts, bulk actions."""

import csv
import io
from urllib.parse import urlparse

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Contact, SavedView
from contacts.views.contact_list import CONTACT_LIST
from tests.tickets.factories import ticket_make

from .factories import ContactFactory, TagFactory

pytestmark = pytest.mark.django_db

LIST = "contacts:contact_list"
BULK = "contacts:contact_bulk"


def _save(client, querystring: str, name: str, shared: bool = False):
    data = {"list": "contacts", "querystring": querystring, "name": name}
    if shared:
        data["shared"] = "1"
    return client.post(reverse("contacts:saved_view_save"), data)


def _headers(response) -> list[str]:
    return [header["column"].key for header in response.context["headers"]]


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_a_saved_view_keeps_filters_columns_sort_and_page_size(sales_client, sales_user):
    ContactFactory(first_name="Ann", last_name="Able", lifecycle_stage="customer")
    ContactFactory(first_name="Zoe", last_name="Zed", lifecycle_stage="customer")
    ContactFactory(first_name="Lea", last_name="Lead", lifecycle_stage="lead")
    response = _save(sales_client, "lifecycle=customer&cols=email,tags&sort=-name&per_page=50", "Customers")
    view = SavedView.objects.get(owner=sales_user, list_key="contacts")
    assert response.status_code == 302 and f"saved={view.pk}" in response["Location"]
    assert view.state == {
        "filters": {"lifecycle": "customer"},
        "columns": ["email", "tags"],
        "sort": "-name",
        "per_page": 50,
    }
    page = sales_client.get(reverse(LIST))
    tab = next(tab for tab in page.context["view_tabs"] if tab["view"] == view)
    opened = sales_client.get(reverse(LIST) + "?" + tab["querystring"])
    assert [c.last_name for c in opened.context["contacts"]] == ["Zed", "Able"]
    assert _headers(opened) == ["name", "email", "tags"]  # the name cannot be hidden
    assert opened.context["list"].per_page == 50
    assert opened.context["active_view"]["view"] == view and not opened.context["active_view"]["modified"]
    assert 'aria-current="page"' in opened.content.decode().split("Customers")[0].rsplit("<li", 1)[1]


def test_private_views_are_the_owners_and_shared_views_everyones(sales_client, sales_user, client):
    from tests.conftest import _user_in_role

    _save(sales_client, "owner=me", "Mine only")
    _save(sales_client, "lifecycle=lead", "All leads", shared=True)
    colleague = _user_in_role("Sales", username="colleague")
    client.force_login(colleague)
    names = [tab["view"].name for tab in client.get(reverse(LIST)).context["view_tabs"]]
    assert names == ["All leads"]
    shared = SavedView.objects.get(name="All leads")
    denied = client.post(reverse("contacts:saved_view_delete", args=[shared.pk]))
    assert denied.status_code == 403 and SavedView.objects.filter(pk=shared.pk).exists()
    renamed = client.post(
        reverse("contacts:saved_view_update", args=[shared.pk]), {"name": "Hijacked", "querystring": ""}
    )
    assert renamed.status_code == 403
    shared.refresh_from_db()
    assert shared.name == "All leads"


def test_a_view_needs_a_name_unique_for_its_owner(sales_client):
    _save(sales_client, "", "Leads")
    duplicate = _save(sales_client, "lifecycle=lead", "  leads ")
    empty = _save(sales_client, "", "   ")
    assert SavedView.objects.count() == 1
    assert "You already have a view with this name on this list." in _messages(duplicate)[-1]
    assert "Give the view a name." in _messages(empty)[-1]


def test_a_changed_view_offers_to_save_the_changes(sales_client):
    _save(sales_client, "lifecycle=lead", "Leads")
    view = SavedView.objects.get()
    changed = sales_client.get(reverse(LIST), {"lifecycle": "customer", "saved": view.pk})
    assert changed.context["active_view"]["modified"]
    assert "Save changes to “Leads”" in changed.content.decode()
    sales_client.post(
        reverse("contacts:saved_view_update", args=[view.pk]),
        {"querystring": f"lifecycle=customer&saved={view.pk}", "replace_state": "1"},
    )
    view.refresh_from_db()
    assert view.state["filters"] == {"lifecycle": "customer"}
    sales_client.post(reverse("contacts:saved_view_delete", args=[view.pk]))
    assert not SavedView.objects.exists()


def test_the_column_chooser_shows_the_chosen_columns_in_the_lists_order(sales_client):
    ContactFactory(job_title="Buyer")
    response = sales_client.get(reverse(LIST), {"col": ["tags", "job_title", "nope"]})
    assert _headers(response) == ["name", "tags", "job_title"]
    assert "Buyer" in response.content.decode()
    assert _headers(sales_client.get(reverse(LIST), {"cols": ""})) == [
        "name", "email", "phone", "company", "owner", "lifecycle", "tags", "last_activity",
    ]  # fmt: skip


def test_page_size_page_jump_and_the_total_count(sales_client):
    ContactFactory.create_batch(60)
    url = reverse(LIST)
    first = sales_client.get(url, {"per_page": 50})
    assert len(first.context["contacts"]) == 50 and first.context["page_obj"].paginator.num_pages == 2
    assert 'data-count="60"' in first.content.decode() and "60 contacts" in first.content.decode()
    assert len(sales_client.get(url, {"per_page": 50, "page": 2}).context["contacts"]) == 10
    assert sales_client.get(url, {"page": "last"}).context["page_obj"].number == 3
    assert sales_client.get(url, {"page": "999"}).context["page_obj"].number == 3
    assert len(sales_client.get(url, {"per_page": 7}).context["contacts"]) == 25  # not an offered size
    assert 'name="page" id="page-jump"' in first.content.decode()


def test_the_total_is_counted_only_up_to_a_bound_then_shown_as_a_lower_bound(sales_client, monkeypatch):
    from contacts.lists import paging

    monkeypatch.setattr(paging, "COUNT_CAP", 10)  # counts at least 10 rows and one page past this one
    ContactFactory.create_batch(60)
    url = reverse(LIST)
    with CaptureQueriesContext(connection) as captured:
        first = sales_client.get(url)
    html = first.content.decode()
    assert first.context["page_obj"].paginator.capped and "50+ contacts" in html and "1–25 of 50+" in html
    assert first.context["page_obj"].has_next()
    assert any("LIMIT 51" in q["sql"] for q in captured.captured_queries)  # never a count of the table
    second = sales_client.get(url, {"page": 2})  # one page further: every row counted
    assert not second.context["page_obj"].paginator.capped and "60 contacts" in second.content.decode()
    last = sales_client.get(url, {"page": "last"})  # asked for: counted exactly
    assert last.context["page_obj"].number == 3 and len(last.context["contacts"]) == 10


def test_the_list_with_views_and_every_column_runs_the_same_queries_for_1_or_30_rows(
    sales_client, sales_user, django_assert_num_queries
):
    for name in ("One", "Two", "Three"):
        _save(sales_client, "lifecycle=lead", name)
    view = SavedView.objects.first()
    all_columns = ",".join(c.key for c in CONTACT_LIST.columns)
    url = reverse(LIST) + f"?cols={all_columns}&saved={view.pk}&owner={sales_user.pk}&lifecycle=lead"
    contact = ContactFactory(owner=sales_user)
    contact.tags.add(TagFactory())
    with CaptureQueriesContext(connection) as one:
        sales_client.get(url)
    for _ in range(29):
        ContactFactory(owner=sales_user).tags.add(TagFactory())
    with django_assert_num_queries(len(one.captured_queries)):
        response = sales_client.get(url)
    assert len(response.context["contacts"]) == 25


def _bulk(client, action: str, contacts, **data):
    return client.post(
        reverse(BULK),
        {"action": action, "ids": [c.pk for c in contacts], "querystring": "lifecycle=lead", **data},
    )


def test_bulk_assign_owner_set_stage_and_add_and_remove_tags(sales_client, sales_user):
    chosen = ContactFactory.create_batch(3)
    other = ContactFactory()
    response = _bulk(sales_client, "owner", chosen, owner=str(sales_user.pk))
    assert response.status_code == 302 and response["Location"] == reverse(LIST) + "?lifecycle=lead"
    assert Contact.objects.filter(owner=sales_user).count() == 3
    _bulk(sales_client, "lifecycle", chosen, lifecycle_stage="customer")
    _bulk(sales_client, "tags_add", chosen, tags_add="VIP, newsletter")
    _bulk(sales_client, "tags_remove", chosen[:1], tags_remove="newsletter")
    assert {t.name for t in chosen[0].tags.all()} == {"VIP"}
    assert {t.name for t in chosen[1].tags.all()} == {"VIP", "newsletter"}
    assert set(Contact.objects.filter(lifecycle_stage="customer")) == set(chosen)
    assert other.tags.count() == 0 and Contact.objects.get(pk=other.pk).owner != sales_user
    _bulk(sales_client, "owner", chosen, owner="none")
    assert Contact.objects.filter(owner__isnull=True).count() == 3


def test_bulk_update_runs_the_same_queries_for_2_or_40_contacts(
    sales_client, sales_user, django_assert_num_queries
):
    few, many = ContactFactory.create_batch(2), ContactFactory.create_batch(40)
    TagFactory(name="VIP"), TagFactory(name="Gold")
    with CaptureQueriesContext(connection) as two:
        _bulk(sales_client, "tags_add", few, tags_add="VIP, Gold")
    with django_assert_num_queries(len(two.captured_queries)):
        _bulk(sales_client, "tags_add", many, tags_add="VIP, Gold")
    assert Contact.objects.filter(tags__name="Gold").count() == 42


def test_bulk_errors_change_nothing(sales_client):
    chosen = ContactFactory.create_batch(2)
    nothing = sales_client.post(reverse(BULK), {"action": "owner", "owner": "none"})
    assert "Select at least one contact first." in _messages(nothing)[-1]
    bad_stage = _bulk(sales_client, "lifecycle", chosen, lifecycle_stage="royalty")
    assert "Pick a lifecycle stage." in _messages(bad_stage)[-1]
    no_owner = _bulk(sales_client, "owner", chosen, owner="")
    assert "Pick the new owner." in _messages(no_owner)[-1]
    assert not Contact.objects.filter(lifecycle_stage="royalty").exists()


def test_bulk_export_downloads_only_the_selection(sales_client):
    chosen = [ContactFactory(last_name="Chosen1"), ContactFactory(last_name="Chosen2")]
    ContactFactory(last_name="Left")
    response = _bulk(sales_client, "export", chosen)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(row["last_name"] for row in rows) == ["Chosen1", "Chosen2"]


def test_bulk_delete_asks_first_and_keeps_contacts_with_tickets(sales_client, support_user):
    plain = ContactFactory.create_batch(2)
    with_ticket = ContactFactory(first_name="Tess", last_name="Ticket")
    ticket_make(user=support_user, contact=with_ticket)
    everyone = [*plain, with_ticket]
    confirm = _bulk(sales_client, "delete", everyone)
    assert confirm.status_code == 200 and "Delete 3 contacts?" in confirm.content.decode()
    assert Contact.objects.count() == 3
    done = _bulk(sales_client, "delete", everyone, confirm="yes")
    assert list(Contact.objects.all()) == [with_ticket]
    texts = _messages(done)
    assert "Deleted 2 contacts." in texts and any("Tess Ticket" in text for text in texts)


def test_bulk_actions_follow_the_role(marketing_client):
    chosen = ContactFactory.create_batch(2)
    page = marketing_client.get(reverse(LIST))
    assert [action.key for action in page.context["bulk_actions"]] == ["export"]
    assert _bulk(marketing_client, "delete", chosen, confirm="yes").status_code == 403
    assert _bulk(marketing_client, "owner", chosen, owner="none").status_code == 403
    assert Contact.objects.count() == 2 and not Contact.objects.filter(owner__isnull=True).exists()


def test_deleting_a_contact_with_tickets_is_refused_with_the_reason(sales_client, support_user, sales_api):
    contact = ContactFactory(first_name="Rita", last_name="Requester")
    ticket_make(user=support_user, contact=contact)
    response = sales_client.post(reverse("contacts:contact_delete", args=[contact.pk]))
    assert response.status_code == 302 and urlparse(response["Location"]).path == contact.get_absolute_url()
    assert (
        "Rita Requester cannot be deleted while 1 ticket is linked to the contact" in _messages(response)[-1]
    )
    api = sales_api.delete(f"/api/contacts/{contact.pk}/")
    assert api.status_code == 409 and "1 ticket" in api.json()["detail"]
    assert Contact.objects.filter(pk=contact.pk).exists() and contact.tickets.count() == 1


@pytest.mark.parametrize("late", [False, True])
def test_a_searched_page_of_many_matches_is_the_first_in_list_order(sales_client, monkeypatch, late):
    """Found among the list's first rows, or (when they sit late in the order) through the search index."""
    from contacts.lists import paging

    monkeypatch.setattr(paging, "COUNT_CAP", 10)  # 60 matches are "many": counted up to 50
    monkeypatch.setattr(paging, "WINDOW", 40)
    prefix = "Zz" if late else ""
    Contact.objects.bulk_create(
        Contact(
            first_name="Ann",
            last_name=f"{prefix}Garcia{i:02d}",
            search_text=f" ann {prefix.lower()}garcia{i:02d} | ",
        )
        for i in range(60)
    )
    Contact.objects.bulk_create(
        Contact(first_name="Bo", last_name=f"Other{i:02d}", search_text=f" bo other{i:02d} | ")
        for i in range(60)
    )
    page = sales_client.get(reverse(LIST), {"q": "garcia"}).context["page_obj"]
    expected = list(Contact.objects.filter(last_name__contains="Garcia").order_by("last_name")[:25])
    assert page.paginator.capped and list(page.object_list) == expected
    second = sales_client.get(reverse(LIST), {"q": "garcia", "page": 2}).context["page_obj"]
    assert [c.last_name for c in second.object_list] == [f"{prefix}Garcia{i:02d}" for i in range(25, 50)]
