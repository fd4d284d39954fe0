"""The audit log: append-only, read-only in the admin, and fed by role changes and CSV exports."""

import pytest
from django.contrib.auth.models import Group

from common.security.audit import audit_record
from common.security.models import AuditEntry
from tests.segments.factories import segment

pytestmark = pytest.mark.django_db


def test_an_entry_cannot_be_changed_or_deleted_in_code(sales_user):
    entry = audit_record(actor=sales_user, action=AuditEntry.Action.CSV_EXPORT, target="contacts")
    assert entry.actor_name == sales_user.username
    entry.target = "nothing"
    with pytest.raises(TypeError, match="append-only"):
        entry.save()
    with pytest.raises(TypeError, match="append-only"):
        entry.delete()
    with pytest.raises(TypeError, match="append-only"):
        AuditEntry.objects.filter(pk=entry.pk).update(target="x")
    with pytest.raises(TypeError, match="append-only"):
        AuditEntry.objects.all().delete()
    with pytest.raises(ValueError, match="Unknown audit action"):
        audit_record(actor=sales_user, action="made_up", target="x")


def test_the_entry_outlives_its_actor(sales_user):
    entry = audit_record(actor=sales_user, action=AuditEntry.Action.CSV_EXPORT, target="contacts")
    sales_user.delete()
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.actor is None and entry.actor_name == "sam.sales"


def test_admins_search_the_log_but_cannot_add_change_or_delete(admin_client_role, sales_user):
    entry = audit_record(actor=sales_user, action=AuditEntry.Action.CSV_EXPORT, target="deals")
    audit_record(actor=sales_user, action=AuditEntry.Action.CSV_EXPORT, target="companies")
    found = admin_client_role.get("/admin/security/auditentry/", {"q": "deals"}).content.decode()
    assert "deals" in found and "companies" not in found
    assert admin_client_role.get("/admin/security/auditentry/add/").status_code == 403
    change_url = f"/admin/security/auditentry/{entry.pk}/change/"
    page = admin_client_role.get(change_url)
    assert page.status_code == 200 and 'name="target"' not in page.content.decode()  # a read-only view
    assert admin_client_role.post(change_url, {"target": "edited"}).status_code == 403
    assert admin_client_role.post(f"/admin/security/auditentry/{entry.pk}/delete/").status_code == 403
    admin_client_role.post(
        "/admin/security/auditentry/", {"action": "delete_selected", "_selected_action": [entry.pk]}
    )
    entry.refresh_from_db()
    assert entry.target == "deals"


def test_other_roles_cannot_see_the_log(marketing_client):
    assert marketing_client.get("/admin/security/auditentry/").status_code == 403


def test_role_changes_in_the_admin_are_recorded_with_who_did_them(admin_client_role, admin_user, sales_user):
    support = Group.objects.get(name="Support")
    response = admin_client_role.post(
        f"/admin/auth/user/{sales_user.pk}/change/",
        {
            "username": sales_user.username,
            "first_name": "",
            "last_name": "",
            "email": "",
            "is_active": "on",
            "groups": [support.pk],
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302
    entries = AuditEntry.objects.filter(target=sales_user.username, actor=admin_user)
    assert {(e.action, e.detail["role"]) for e in entries} == {
        (AuditEntry.Action.ROLE_REMOVED, "Sales"),
        (AuditEntry.Action.ROLE_ADDED, "Support"),
    }


def test_role_changes_from_code_and_from_the_group_side_are_recorded(sales_user):
    marketing = Group.objects.get(name="Marketing")
    marketing.user_set.add(sales_user)
    sales_user.groups.remove(marketing)
    entries = AuditEntry.objects.filter(target=sales_user.username, detail__role="Marketing")
    assert sorted(e.action for e in entries) == ["role_added", "role_removed"]
    assert all(e.actor is None for e in entries)  # no request: the system


@pytest.mark.parametrize(
    "path",
    [
        "/contacts/export.csv",
        "/companies/export.csv",
        "/deals/list/?format=csv",
        "/deals/forecast/?format=csv",
    ],
)
def test_each_crm_csv_export_is_recorded(admin_client_role, admin_user, path):
    response = admin_client_role.get(path)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CSV_EXPORT)
    assert entry.actor == admin_user


@pytest.mark.parametrize("kind", ["contacts", "companies", "deals"])
def test_a_bulk_export_of_selected_records_is_recorded(sales_client, sales_user, kind):
    from tests.contacts.factories import CompanyFactory, ContactFactory
    from tests.pipeline.factories import deal_make

    make = {
        "contacts": lambda: ContactFactory(),
        "companies": lambda: CompanyFactory(),
        "deals": lambda: deal_make(user=sales_user),
    }[kind]
    ids = [make().pk for _ in range(2)]
    url = {"contacts": "/contacts/bulk/", "companies": "/companies/bulk/", "deals": "/deals/list/bulk/"}[kind]
    response = sales_client.post(url, {"action": "export", "ids": ids})
    assert response["Content-Type"].startswith("text/csv")
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CSV_EXPORT)
    assert (entry.target, entry.detail, entry.actor) == (kind, {"selected": 2}, sales_user)


def test_segment_exports_in_the_ui_and_the_api_are_recorded(marketing_client, marketing_api):
    members = segment({"all": []}, name="Everyone")
    assert marketing_client.get(f"/segments/{members.pk}/export.csv").status_code == 200
    assert marketing_api.get(f"/api/segments/{members.pk}/export/").status_code == 200
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.CSV_EXPORT, target__contains="Everyone")
    assert [e.detail.get("api", False) for e in entries.order_by("id")] == [False, True]
