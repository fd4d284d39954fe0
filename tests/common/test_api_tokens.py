"""API tokens: hashed, named, read-only or read-write, expiring, revocable; the page and the admin."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from common.security.models import ApiToken, AuditEntry
from common.security.tokens import api_token_create, api_token_revoke, key_hash

pytestmark = pytest.mark.django_db


def _auth(key, keyword="Token"):
    return {"HTTP_AUTHORIZATION": f"{keyword} {key}"}


def test_a_token_is_stored_hashed_and_works_with_token_or_bearer(client, sales_user):
    token, key = api_token_create(user=sales_user, name="sync")
    assert token.key_hash == key_hash(key) and key not in str(ApiToken.objects.values().get())
    assert client.get("/api/contacts/", **_auth(key)).status_code == 200
    assert client.get("/api/contacts/", **_auth(key, "Bearer")).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None  # shown on the API tokens page


def test_a_wrong_secret_with_a_real_prefix_is_refused(client, sales_user):
    _token, key = api_token_create(user=sales_user, name="sync")
    response = client.get("/api/contacts/", **_auth(key[:-4] + "AAAA"))
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert response.json()["detail"] == "The API token is not valid."


def test_a_read_only_token_reads_but_gets_403_with_a_reason_on_writes(client, sales_user):
    _token, key = api_token_create(user=sales_user, name="report", scope=ApiToken.Scope.READ)
    assert client.get("/api/companies/", **_auth(key)).status_code == 200
    response = client.post("/api/companies/", {"name": "Acme"}, content_type="application/json", **_auth(key))
    assert response.status_code == 403 and "read-only" in response.json()["detail"]
    assert client.delete("/api/companies/1/", **_auth(key)).status_code == 403


def test_an_expired_or_revoked_token_gets_401_saying_why(client, sales_user):
    _old, expiring = api_token_create(
        user=sales_user, name="temp", expires_at=timezone.now() + timedelta(days=1)
    )
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        response = client.get("/api/contacts/", **_auth(expiring))
    assert response.status_code == 401 and response.json()["detail"] == "The API token has expired."
    token, key = api_token_create(user=sales_user, name="gone")
    api_token_revoke(token=token, actor=sales_user)
    response = client.get("/api/contacts/", **_auth(key))
    assert response.status_code == 401 and response.json()["detail"] == "The API token was revoked."


def test_a_token_of_an_inactive_user_is_refused(client, sales_user):
    _token, key = api_token_create(user=sales_user, name="sync")
    sales_user.is_active = False
    sales_user.save()
    assert client.get("/api/contacts/", **_auth(key)).status_code == 401


def test_a_key_migrated_from_the_old_authtoken_table_still_works(client, sales_user):
    legacy = "0123456789abcdef0123456789abcdef01234567"  # a 40-hex rest_framework.authtoken key
    ApiToken.objects.create(
        user=sales_user, name="Migrated key", prefix=legacy[:8], key_hash=key_hash(legacy)
    )
    assert client.get("/api/contacts/", **_auth(legacy)).status_code == 200


def test_authenticating_costs_a_fixed_number_of_queries(client, sales_user):
    _token, key = api_token_create(user=sales_user, name="sync")
    client.get("/api/contacts/", **_auth(key))  # records last_used_at
    with CaptureQueriesContext(connection) as first:
        client.get("/api/companies/", **_auth(key))
    for index in range(5):
        api_token_create(user=sales_user, name=f"other {index}")
    with CaptureQueriesContext(connection) as second:
        client.get("/api/companies/", **_auth(key))
    assert len(first) == len(second), [q["sql"][:120] for q in first.captured_queries]


# --- the API tokens page ---------------------------------------------------------------------------


def test_the_page_has_an_empty_state_and_is_in_the_user_menu(sales_client):
    response = sales_client.get("/accounts/api-tokens/")
    page = response.content.decode()
    assert response.status_code == 200 and 'id="token-empty"' in page and 'id="menu-api-tokens"' in page


def test_creating_a_token_shows_the_key_once(sales_client, sales_user, client):
    response = sales_client.post("/accounts/api-tokens/", {"name": "warehouse", "scope": "read"}, follow=True)
    assert response.redirect_chain == [("/accounts/api-tokens/", 302)]  # a reload makes no second token
    key = response.context["new_key"]
    assert key in response.content.decode() and "shown only this once" in response.content.decode()
    token = ApiToken.objects.get(user=sales_user)
    assert (token.name, token.scope, token.expires_at) == ("warehouse", "read", None)
    again = sales_client.get("/accounts/api-tokens/").content.decode()
    assert key not in again and f"cdp_{token.prefix}…" in again
    entry = AuditEntry.objects.get(action=AuditEntry.Action.TOKEN_CREATED)
    assert entry.actor == sales_user and "warehouse" in entry.target


def test_an_expiry_day_in_the_past_is_refused_and_a_future_one_kept(sales_client, sales_user):
    today = timezone.now().date()
    response = sales_client.post(
        "/accounts/api-tokens/", {"name": "x", "scope": "write", "expires_on": today}
    )
    assert response.status_code == 200 and "Choose a day after today." in response.content.decode()
    day = today + timedelta(days=30)
    sales_client.post("/accounts/api-tokens/", {"name": "x", "scope": "write", "expires_on": day})
    assert ApiToken.objects.get(user=sales_user).expires_at.date() == day


def test_revoking_from_the_page_stops_the_key_and_is_audited(sales_client, sales_user, client):
    token, key = api_token_create(user=sales_user, name="sync")
    response = sales_client.post(f"/accounts/api-tokens/{token.pk}/revoke/", follow=True)
    assert "revoked" in response.content.decode()
    assert client.get("/api/contacts/", **_auth(key)).status_code == 401
    entry = AuditEntry.objects.get(action=AuditEntry.Action.TOKEN_REVOKED)
    assert entry.actor == sales_user and entry.detail == {"token_id": token.pk}


def test_a_user_cannot_revoke_someone_elses_token(sales_client, support_user):
    token, _key = api_token_create(user=support_user, name="theirs")
    assert sales_client.post(f"/accounts/api-tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_page_lists_only_the_users_tokens_in_fixed_queries(sales_client, sales_user, support_user):
    api_token_create(user=support_user, name="not mine")
    api_token_create(user=sales_user, name="mine 0")
    with CaptureQueriesContext(connection) as few:
        sales_client.get("/accounts/api-tokens/")
    for index in range(1, 6):
        api_token_create(user=sales_user, name=f"mine {index}")
    with CaptureQueriesContext(connection) as many:
        page = sales_client.get("/accounts/api-tokens/").content.decode()
    assert "not mine" not in page and "mine 5" in page
    assert len(few) == len(many)


def test_admins_revoke_tokens_in_the_admin_and_never_see_keys(
    admin_client_role, admin_user, sales_user, client
):
    token, key = api_token_create(user=sales_user, name="sync")
    listing = admin_client_role.get("/admin/security/apitoken/").content.decode()
    assert token.prefix in listing and token.key_hash not in listing
    assert admin_client_role.get("/admin/security/apitoken/add/").status_code == 403
    admin_client_role.post(
        "/admin/security/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    assert client.get("/api/contacts/", **_auth(key)).status_code == 401
    assert AuditEntry.objects.get(action=AuditEntry.Action.TOKEN_REVOKED).actor == admin_user


def test_the_migration_carries_old_authtoken_keys_over(client, sales_user):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("common.security.migrations.0002_migrate_authtoken_keys")
    legacy = "fedcba9876543210fedcba9876543210fedcba98"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id integer, created timestamp)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)", [legacy, sales_user.pk, timezone.now()]
        )
    migration.forwards(apps, SimpleNamespace(connection=connection))  # it only reads .connection
    token = ApiToken.objects.get(user=sales_user)
    assert (token.name, token.scope, token.prefix) == ("Migrated key", "write", legacy[:8])
    assert client.get("/api/contacts/", **_auth(legacy)).status_code == 200
