"""REST API of the CRM core: CRUD through the services, filters, field-named errors, role permissions."""

import pytest

from contacts import services
from contacts.models import Contact, LoyaltyAccount

from .factories import ActivityFactory, CompanyFactory, ContactFactory, TagFactory, TaskFactory

pytestmark = pytest.mark.django_db


def test_contact_crud_through_the_api(sales_api, sales_user):
    company = CompanyFactory()
    created = sales_api.post(
        "/api/contacts/",
        {
            "first_name": "Nora",
            "last_name": "Quinn",
            "email": "Nora.Quinn@Example.com",
            "phone": "415 555 2671",
            "company": company.pk,
            "lifecycle_stage": "mql",
            "tags": ["VIP", "newsletter"],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["email"] == "nora.quinn@example.com"
    assert body["phone"] == "+14155552671"
    assert sorted(body["tags"]) == ["VIP", "newsletter"]
    assert body["owner"] == sales_user.pk
    url = f"/api/contacts/{body['id']}/"
    patched = sales_api.patch(url, {"lifecycle_stage": "customer", "tags": ["VIP"]}, format="json")
    assert patched.status_code == 200 and patched.json()["tags"] == ["VIP"]
    assert sales_api.get(url).json()["lifecycle_stage"] == "customer"
    assert sales_api.delete(url).status_code == 204
    assert not Contact.objects.filter(pk=body["id"]).exists()


def test_validation_errors_name_the_field(sales_api):
    ContactFactory(email="taken@example.com")
    duplicate = sales_api.post(
        "/api/contacts/", {"first_name": "X", "email": "TAKEN@example.com"}, format="json"
    )
    assert duplicate.status_code == 400 and "email" in duplicate.json()
    bad_phone = sales_api.post("/api/contacts/", {"first_name": "X", "phone": "123"}, format="json")
    assert bad_phone.status_code == 400 and "phone" in bad_phone.json()
    no_target = sales_api.post("/api/activities/", {"kind": "call", "subject": "Hi"}, format="json")
    assert no_target.status_code == 400 and "contact" in no_target.json()
    bad_stage = sales_api.post(
        "/api/contacts/", {"first_name": "X", "lifecycle_stage": "nope"}, format="json"
    )
    assert bad_stage.status_code == 400 and "lifecycle_stage" in bad_stage.json()


def test_contact_filters_search_and_ordering(sales_api, sales_user):
    vip = TagFactory(name="VIP")
    a = ContactFactory(first_name="Alice", last_name="Zed", owner=sales_user, lifecycle_stage="customer")
    a.tags.add(vip)
    ContactFactory(first_name="Bob", last_name="Young", owner=sales_user, lifecycle_stage="lead")
    ContactFactory(first_name="Carl", last_name="Xu", lifecycle_stage="customer")

    def ids(query):
        response = sales_api.get(f"/api/contacts/?{query}")
        assert response.status_code == 200
        return [row["first_name"] for row in response.json()["results"]]

    assert ids(f"owner={sales_user.pk}&ordering=last_name") == ["Bob", "Alice"]
    assert ids("lifecycle_stage=customer&ordering=-last_name") == ["Alice", "Carl"]
    assert ids("tag=vip") == ["Alice"]
    assert ids(f"email={a.email.upper()}") == ["Alice"]
    assert ids("search=carl") == ["Carl"]
    assert sales_api.get("/api/contacts/").json()["count"] == 3


def test_companies_activities_and_tasks_endpoints(sales_api, sales_user):
    company = sales_api.post(
        "/api/companies/", {"name": "Atelier", "domain": "Atelier.Example"}, format="json"
    )
    assert company.status_code == 201 and company.json()["domain"] == "atelier.example"
    clash = sales_api.post("/api/companies/", {"name": "Copy", "domain": "atelier.example"}, format="json")
    assert clash.status_code == 400 and "domain" in clash.json()
    contact = ContactFactory()
    activity = sales_api.post(
        "/api/activities/",
        {"kind": "call", "subject": "Intro", "contact": contact.pk, "direction": "out"},
        format="json",
    )
    assert activity.status_code == 201 and activity.json()["author"] == sales_user.pk
    ActivityFactory(contact=contact, kind="email")
    assert sales_api.get(f"/api/activities/?contact={contact.pk}&kind=call").json()["count"] == 1
    task = sales_api.post("/api/tasks/", {"title": "Send lookbook", "contact": contact.pk}, format="json")
    assert task.status_code == 201 and task.json()["assignee"] == sales_user.pk
    done = sales_api.patch(
        f"/api/tasks/{task.json()['id']}/", {"done_at": "2026-01-01T10:00:00Z"}, format="json"
    )
    assert done.status_code == 200 and done.json()["done_at"] is not None
    TaskFactory(assignee=sales_user)
    assert sales_api.get(f"/api/tasks/?assignee={sales_user.pk}&done=false").json()["count"] == 1


def test_loyalty_ledger_api_keeps_the_balance_equal_to_the_deltas(support_api, support_user):
    contact = ContactFactory()
    account = support_api.post(
        "/api/loyalty/accounts/", {"contact": contact.pk, "tier": "silver"}, format="json"
    )
    assert account.status_code == 201, account.json()
    account_id = account.json()["id"]
    earned = support_api.post(
        "/api/loyalty/notes/", {"account": account_id, "kind": "earned", "points_delta": 120}, format="json"
    )
    assert earned.status_code == 201
    too_much = support_api.post(
        "/api/loyalty/notes/",
        {"account": account_id, "kind": "redeemed", "points_delta": -500},
        format="json",
    )
    assert too_much.status_code == 400 and "points_delta" in too_much.json()
    tier = support_api.post(
        "/api/loyalty/notes/", {"account": account_id, "kind": "tier", "tier_to": "gold"}, format="json"
    )
    assert tier.status_code == 201 and tier.json()["tier_from"] == "silver"
    edit = support_api.patch(f"/api/loyalty/accounts/{account_id}/", {"points_balance": 99999}, format="json")
    assert edit.status_code == 200
    acc = LoyaltyAccount.objects.get(pk=account_id)
    assert (acc.points_balance, acc.tier) == (120, "gold")
    assert services.loyalty_balance_matches_ledger(acc)
    note_id = earned.json()["id"]
    assert support_api.delete(f"/api/loyalty/notes/{note_id}/").status_code == 405


def test_marketing_reads_but_cannot_write_and_support_can(marketing_api, support_api):
    ContactFactory()
    assert marketing_api.get("/api/contacts/").status_code == 200
    assert marketing_api.post("/api/contacts/", {"first_name": "M"}, format="json").status_code == 403
    assert support_api.post("/api/contacts/", {"first_name": "S"}, format="json").status_code == 201


def test_anonymous_requests_are_refused(client):
    assert client.get("/api/contacts/").status_code == 401


def test_contact_list_endpoint_query_count_does_not_grow(sales_api, django_assert_max_num_queries):
    tag = TagFactory(name="VIP")
    for _ in range(30):
        ContactFactory(company=CompanyFactory()).tags.add(tag)
    with django_assert_max_num_queries(8):
        assert sales_api.get("/api/contacts/").status_code == 200


def test_unknown_fields_are_named_in_a_400_and_service_errors_have_the_same_shape(sales_api):
    ContactFactory(email="taken@example.com")
    response = sales_api.post(
        "/api/contacts/",
        {"first_name": "X", "lifecycle_stage": "nope", "favourite_colour": "teal", "shoe": 42},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body == {
        "favourite_colour": ["This field does not exist here."],
        "shoe": ["This field does not exist here."],
    }
    assert not Contact.objects.filter(first_name="X").exists()
    # Errors raised by a service (after the serializer accepted the input) have the same shape.
    duplicate = sales_api.post(
        "/api/contacts/", {"first_name": "X", "email": "TAKEN@example.com"}, format="json"
    )
    assert duplicate.status_code == 400
    assert list(duplicate.json()) == ["email"] and isinstance(duplicate.json()["email"], list)


def test_a_serializer_check_on_one_field_is_a_list_under_that_field(support_api, support_user):
    account = services.loyalty_enroll(contact=ContactFactory(), user=support_user)
    response = support_api.patch(
        f"/api/loyalty/accounts/{account.pk}/", {"contact": ContactFactory().pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"contact": ["A loyalty account cannot move to another contact."]}


def test_page_size_is_honoured_up_to_the_maximum(sales_api, settings):
    settings.API_MAX_PAGE_SIZE = 3
    ContactFactory.create_batch(5)
    assert len(sales_api.get("/api/contacts/?page_size=2").json()["results"]) == 2
    assert len(sales_api.get("/api/contacts/?page_size=1000").json()["results"]) == 3
    assert len(sales_api.get("/api/contacts/?page_size=abc").json()["results"]) == 5
