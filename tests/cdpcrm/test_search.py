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


def test_a_fragment_of_a_number_is_found_anywhere_in_it(sales_client):
    wanted = ContactFactory(first_name="Paula", last_name="Phone", phone="+13105550150")
    ContactFactory(first_name="Other", phone="+13109990199")
    for typed in ("555-01", "310-555-01"):  # a fragment, a number still being typed
        listed = sales_client.get(reverse("contacts:contact_list"), {"q": typed})
        assert list(listed.context["contacts"]) == [wanted], typed
        picked = sales_client.get(reverse("contacts:contact_pick"), {"q": typed}).json()["results"]
        assert [r["text"] for r in picked] == ["Paula Phone"], typed


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
def test_contains_search_reads_the_one_search_text_trigram_index_on_postgresql():
    Contact.objects.bulk_create(
        Contact(
            first_name=f"n{i}", last_name=f"Name{i}", email=f"{i}@x.example", search_text=f" n{i} name{i} | "
        )
        for i in range(3000)
    )
    ContactFactory(phone="+13105550150")  # a whole number that ends a stored one
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")
        cursor.execute("SET enable_seqscan = off")
        plans = []
        for query in ("garcia", "ga", "555-01", "garcia kowal"):
            sql, params = search.contact_search_filter(
                Contact.objects.order_by(), query
            ).query.sql_with_params()
            cursor.execute("EXPLAIN " + sql, params)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
        sql, params = search.contact_search_filter(
            Contact.objects.order_by(), "+1 310-555-0150"
        ).query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        whole_number = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    for plan in plans:  # one index, never an OR of several
        assert "contact_search_text_trgm" in plan and "BitmapOr" not in plan, plan
        assert "Seq Scan on contacts_contact" not in plan, plan
    # a whole number ends the stored one: a prefix of the reversed phone (B-tree), not shared trigrams
    assert "contact_phone_reversed" in whole_number and "trgm" not in whole_number, whole_number


def test_the_search_text_follows_the_contact_and_its_company(sales_client):
    company = CompanyFactory(name="Linen Trading")
    olga = ContactFactory(first_name="Olga", last_name="Kowalski", email="olga.k@x.example", company=company)
    ContactFactory(first_name="Other", last_name="Person", email="other@x.example")

    def found(query: str) -> list[str]:
        return [c.first_name for c in search.contact_search_filter(Contact.objects.all(), query)]

    assert found("linen") == ["Olga"] and found("KOWAL") == ["Olga"] and found("olga.k@x.example") == ["Olga"]
    company.name = "Velvet Goods"
    company.save()
    assert found("linen") == [] and found("velvet") == ["Olga"]  # a rename rewrites the contacts' text
    olga.last_name = "Nowak"
    olga.save(update_fields=["last_name"])
    assert found("kowal") == [] and found("nowak") == ["Olga"] and found("velvet") == ["Olga"]
    company.delete()
    assert found("velvet") == [] and found("nowak") == ["Olga"]
    listed = sales_client.get(reverse("contacts:contact_list"), {"q": "nowak"})
    assert [c.first_name for c in listed.context["contacts"]] == ["Olga"]


def test_company_bulk_delete_takes_the_company_name_out_of_its_contacts_search():
    from contacts import services

    company = CompanyFactory(name="Saffron Works")
    ContactFactory(first_name="Ines", company=company)
    services.company_bulk_delete(user=None, company_ids=[company.pk])
    assert not search.contact_search_filter(Contact.objects.all(), "saffron").exists()


def test_the_migration_fills_the_search_text_of_existing_contacts():
    import importlib
    from types import SimpleNamespace

    from django.apps import apps

    migration = importlib.import_module("contacts.migrations.0006_contact_search_text")
    company = CompanyFactory(name="Atelier Nord")
    contact = ContactFactory(first_name="Jonas", last_name="Berg", phone="+13105550150", company=company)
    Contact.objects.filter(pk=contact.pk).update(search_text="")  # as before the migration
    migration.fill(apps, SimpleNamespace(connection=connection))  # fill() needs only the connection
    contact.refresh_from_db()
    assert contact.search_text == f" jonas berg {contact.email.lower()} 13105550150 | atelier nord "
