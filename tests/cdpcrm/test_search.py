"""Search: phones in any format, ranking exact > prefix > contains, group order, trigram indexes on PostgreSQL."""

import pytest
from django.db import connection
from django.urls import reverse

from contacts import search
from contacts.models import Contact
from tests.contacts.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "typed", ["+1 310-555-0150", "310-555-0150", "3105550150", "(310) 555 0150", "1.310.555.0150"]
)
def test_a_phone_number_is_found_in_any_format(sales_client, typed):
    wanted = ContactFactory(first_name="Paula", last_name="Phone", phone="+13105550150")
    ContactFactory(first_name="Other", phone="+13105550199")
    listed = sales_client.get(reverse("contacts:contact_list"), {"q": typed})
    assert list(listed.context["contacts"]) == [wanted]
    found = sales_client.get(reverse("search"), {"q": typed}, HTTP_HX_REQUEST="true")
    assert "Paula Phone" in found.content.decode() and "Other" not in found.content.decode()
    picked = sales_client.get(reverse("contacts:contact_pick"), {"q": typed}).json()["results"]
    assert [r["text"] for r in picked] == ["Paula Phone"]


def test_ranking_is_exact_then_prefix_then_contains(sales_client):
    ContactFactory(first_name="Joanna", last_name="Zed", email="j@x.example")
    ContactFactory(first_name="Annabel", last_name="Young", email="a@x.example")
    ContactFactory(first_name="Ann", last_name="Xu", email="ann@x.example")
    names = [c.first_name for c in search.contact_search(query="ann")]
    assert names == ["Ann", "Annabel", "Joanna"]
    results = sales_client.get(reverse("contacts:contact_pick"), {"q": "ann"}).json()["results"]
    assert [r["text"] for r in results] == ["Ann Xu", "Annabel Young", "Joanna Zed"]
    assert results[0]["sub"] == "ann@x.example"  # the second line tells namesakes apart


def test_global_search_puts_the_group_with_an_exact_hit_first(sales_client):
    ContactFactory(first_name="Kim", last_name="Northwind-Fan")
    CompanyFactory(name="Northwind")
    groups = sales_client.get(reverse("search"), {"q": "northwind"}).context["groups"]
    assert [g.label for g in groups][:2] == ["Companies", "Contacts"]
    html = sales_client.get(reverse("search"), {"q": "northwind"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'role="option" aria-selected="false" data-rank="0"' in html


def test_pickers_answer_at_most_20_matches_and_need_a_login(sales_client):
    from django.test import Client

    for i in range(30):
        ContactFactory(first_name=f"Many{i:02d}")
    assert len(sales_client.get(reverse("contacts:contact_pick"), {"q": "many"}).json()["results"]) == 20
    assert sales_client.get(reverse("contacts:contact_pick"), {"q": "x\x00y"}).status_code == 200
    assert Client().get(reverse("contacts:contact_pick")).status_code == 302  # login first


def test_short_terms_match_the_start_of_a_field_only():
    ContactFactory(first_name="Bo", last_name="Smith")
    ContactFactory(first_name="Abo", last_name="Jones")
    assert [c.first_name for c in search.contact_search_filter(Contact.objects.all(), "bo")] == ["Bo"]


@pytest.mark.postgres
def test_contains_search_uses_the_trigram_indexes_on_postgresql():
    Contact.objects.bulk_create(
        Contact(first_name=f"n{i}", last_name=f"Name{i}", email=f"{i}@x.example") for i in range(3000)
    )
    qs = search.contact_search_filter(Contact.objects.order_by(), "garcia")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")
        cursor.execute("SET enable_seqscan = off")
        sql, params = qs.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert (
        "contact_last_name_trgm" in plan
        and "contact_email_trgm" in plan
        and "Seq Scan on contacts_contact" not in plan
    )
