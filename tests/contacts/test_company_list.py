"""Companies get what contacts have (tags, a tag filter, CSV export, bulk actions), and forms report every error."""

import csv
import io

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts import services
from contacts.models import Company, Contact

from .factories import CompanyFactory, ContactFactory, TagFactory

pytestmark = pytest.mark.django_db


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_company_tags_are_set_on_the_form_shown_and_filter_the_list(sales_client):
    response = sales_client.post(
        reverse("contacts:company_create"),
        {"name": "Atelier Nord", "domain": "atelier-nord.com", "tags": "wholesale, VIP"},
    )
    company = Company.objects.get(name="Atelier Nord")
    assert response.status_code == 302 and {t.name for t in company.tags.all()} == {"wholesale", "VIP"}
    assert "wholesale" in sales_client.get(company.get_absolute_url()).content.decode()
    CompanyFactory(name="Other Shop")
    listed = sales_client.get(reverse("contacts:company_list"), {"tag": "wholesale"})
    assert [c.name for c in listed.context["companies"]] == ["Atelier Nord"]
    edit = sales_client.get(reverse("contacts:company_edit", args=[company.pk]))
    assert edit.context["form"]["tags"].value() in ("VIP, wholesale", "wholesale, VIP")


def test_company_csv_export_streams_the_filtered_list(sales_client):
    tagged = CompanyFactory(name="Tagged Co")
    tagged.tags.add(TagFactory(name="wholesale"))
    ContactFactory(company=tagged)
    CompanyFactory(name='=HYPERLINK("x")')
    everything = _csv(sales_client.get(reverse("contacts:company_export")))
    assert {row["name"] for row in everything} == {"Tagged Co", '\'=HYPERLINK("x")'}
    rows = _csv(sales_client.get(reverse("contacts:company_export"), {"tag": "wholesale"}))
    assert [(row["name"], row["tags"], row["contacts"]) for row in rows] == [("Tagged Co", "wholesale", "1")]


def test_company_list_runs_the_same_queries_for_1_or_30_rows(sales_client, django_assert_num_queries):
    url = reverse("contacts:company_list") + "?cols=name,domain,tags,contacts,owner,phone"
    first = CompanyFactory()
    first.tags.add(TagFactory())
    ContactFactory(company=first)
    with CaptureQueriesContext(connection) as one:
        sales_client.get(url)
    for _ in range(29):
        company = CompanyFactory()
        company.tags.add(TagFactory())
        ContactFactory(company=company)
    with django_assert_num_queries(len(one.captured_queries)):
        response = sales_client.get(url)
    assert len(response.context["companies"]) == 25


def test_company_bulk_tags_owner_export_and_delete(sales_client, sales_user):
    chosen = CompanyFactory.create_batch(2)
    kept_contact = ContactFactory(company=chosen[0])
    bulk = reverse("contacts:company_bulk")
    ids = [c.pk for c in chosen]
    sales_client.post(bulk, {"action": "tags_add", "ids": ids, "tags_add": "key account"})
    sales_client.post(bulk, {"action": "owner", "ids": ids, "owner": str(sales_user.pk)})
    assert Company.objects.filter(tags__name="key account", owner=sales_user).count() == 2
    exported = _csv(sales_client.post(bulk, {"action": "export", "ids": ids[:1]}))
    assert [row["name"] for row in exported] == [chosen[0].name]
    confirm = sales_client.post(bulk, {"action": "delete", "ids": ids})
    assert "Delete 2 companies?" in confirm.content.decode() and Company.objects.count() == 2
    sales_client.post(bulk, {"action": "delete", "ids": ids, "confirm": "yes"})
    assert not Company.objects.exists()
    kept_contact.refresh_from_db()
    assert kept_contact.company is None


def test_company_domains_are_validated_and_normalised(sales_user):
    with pytest.raises(ValidationError) as error:
        services.company_create(user=sales_user, name="Bad", domain="not a domain!!")
    assert "domain" in error.value.message_dict
    company = services.company_create(user=sales_user, name="Acme", domain="https://Acme.COM/about?x=1")
    assert company.domain == "acme.com"


def test_the_company_form_reports_every_invalid_field_at_once(sales_client):
    response = sales_client.post(
        reverse("contacts:company_create"), {"name": "", "domain": "not a domain!!", "phone": "call me maybe"}
    )
    form = response.context["form"]
    assert set(form.errors) == {"name", "domain", "phone"}
    assert "Enter a web domain such as atelier-nord.com" in form.errors["domain"][0]
    assert not Company.objects.exists()


def test_the_contact_form_reports_a_bad_email_and_a_bad_phone_together(sales_client):
    response = sales_client.post(
        reverse("contacts:contact_create"),
        {"first_name": "Ann", "email": "ann@", "phone": "12ab", "lifecycle_stage": "lead"},
    )
    assert set(response.context["form"].errors) == {"email", "phone"}
    assert not Contact.objects.exists()


def test_the_contact_service_reports_a_duplicate_email_with_the_other_errors(sales_user):
    ContactFactory(email="taken@example.com")
    with pytest.raises(ValidationError) as error:
        services.contact_create(
            user=sales_user, first_name="Dup", email="TAKEN@example.com", phone="not a phone"
        )
    assert set(error.value.message_dict) == {"email", "phone"}


def test_messages_of_a_refused_bulk_change_name_the_problem(sales_client):
    response = sales_client.post(
        reverse("contacts:company_bulk"), {"action": "tags_add", "ids": ["999999"], "tags_add": "x"}
    )
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert "None of the selected companies exists any more." in texts[-1]
