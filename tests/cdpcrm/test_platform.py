"""Health check, roles, API auth, the api_token command, production settings."""

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from cdpcrm import health
from common.security.models import ApiToken
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    from cdpcrm.tasks import worker_heartbeat_task

    worker_heartbeat_task()  # with a broker, "ok" also needs a recent worker heartbeat (advisory check)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True


def test_healthz_answers_503_when_the_broker_is_down(client, settings, monkeypatch):
    monkeypatch.setattr(health, "_broker", lambda: {"ok": False, "error": "OperationalError"})
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == {"ok": False, "error": "OperationalError"}


def test_healthz_answers_503_when_a_real_broker_is_unreachable(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


def test_roles_have_the_permissions_their_work_needs():
    perms = {
        g.name: {f"{p.content_type.app_label}.{p.codename}" for p in g.permissions.all()}
        for g in Group.objects.all()
    }
    assert {"contacts.change_contact", "contacts.add_company"} <= perms["Sales"]
    assert "contacts.change_contact" in perms["Support"] and "contacts.delete_company" in perms["Support"]
    assert (
        "contacts.view_contact" in perms["Marketing"] and "contacts.change_contact" not in perms["Marketing"]
    )
    assert perms["Admin"] >= perms["Sales"] | perms["Support"] | perms["Marketing"]


def test_api_token_command_creates_a_named_read_write_token_and_prints_a_working_key(sales_user, client):
    out = StringIO()
    call_command("api_token", sales_user.username, stdout=out)
    key = out.getvalue().strip()
    token = ApiToken.objects.get(user=sales_user)
    assert token.name == "manage.py api_token" and token.scope == ApiToken.Scope.WRITE
    assert key not in token.key_hash and key.startswith(f"cdp_{token.prefix}_")  # stored hashed
    response = client.post(
        "/api/companies/",
        {"name": "Acme"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {key}",
    )
    assert response.status_code == 201
    # The key is never stored, so a second run makes a second token (the first one keeps working).
    again = StringIO()
    call_command("api_token", sales_user.username, "--name", "ci", stdout=again)
    assert again.getvalue().strip() != key and ApiToken.objects.filter(user=sales_user).count() == 2


def test_token_authenticates_the_api_and_a_bad_token_is_refused(sales_api, client):
    assert sales_api.get("/api/contacts/").status_code == 200
    response = client.get("/api/contacts/", HTTP_AUTHORIZATION="Token not-a-real-key")
    assert response.status_code == 401


def test_openapi_schema_and_offline_docs(sales_client):
    schema = sales_client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/contacts/" in schema.content
    docs = sales_client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn" not in html.lower()


def test_check_deploy_is_clean_with_production_settings():
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "x" * 60 + "-production-like-secret-key-for-the-check",
        "MAIL_ENCRYPTION_KEY": "0" * 43 + "=",
        "ALLOWED_HOSTS": "crm.example.com",
    }
    env.pop("SECURE_SSL_REDIRECT", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": ""}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_refuse_to_start_without_a_mail_encryption_key():
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "y" * 60, "MAIL_ENCRYPTION_KEY": ""}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "MAIL_ENCRYPTION_KEY must be set" in result.stderr


def test_support_navigation_has_tickets_and_profiles_but_no_segments_or_admin(support_client):
    nav = support_client.get("/").content.decode()
    assert 'href="/tickets/"' in nav and 'href="/cdp/profiles/"' in nav
    assert 'href="/segments/"' not in nav  # support has no segments permission
    assert 'href="/admin/"' not in nav


def test_marketing_navigation_has_segments_sources_and_the_admin(marketing_client):
    nav = marketing_client.get("/").content.decode()
    assert 'href="/segments/"' in nav and 'href="/cdp/sources/"' in nav
    assert 'href="/admin/"' in nav


def test_a_form_with_errors_focuses_its_first_invalid_field():
    from django import forms

    from common.forms import BootstrapFormMixin

    class SignupForm(BootstrapFormMixin, forms.Form):
        name = forms.CharField(widget=forms.TextInput(attrs={"autofocus": True}))
        email = forms.EmailField()

    form = SignupForm(data={"name": "Ann", "email": "not-an-email"})
    assert not form.is_valid()
    assert "autofocus" not in form.fields["name"].widget.attrs
    assert form.fields["email"].widget.attrs["autofocus"] is True
    assert "is-invalid" in form.fields["email"].widget.attrs["class"]


def test_an_error_added_after_validation_also_marks_and_focuses_the_field():
    from django import forms

    from common.forms import BootstrapFormMixin

    class ContactishForm(BootstrapFormMixin, forms.Form):
        name = forms.CharField(widget=forms.TextInput(attrs={"autofocus": True}))
        email = forms.EmailField()

    form = ContactishForm(data={"name": "Ann", "email": "ann@example.com"})
    assert form.is_valid()
    form.add_error("email", "Another contact already uses this email address.")
    assert form.fields["email"].widget.attrs["autofocus"] is True
    assert form.fields["email"].widget.attrs["class"].count("is-invalid") == 1


def test_gunicorn_config_runs_threads_and_shortens_the_gil_switch_interval(monkeypatch):
    import runpy

    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("WEB_THREADS", "6")
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (config["worker_class"], config["workers"], config["threads"]) == ("gthread", 3, 6)
    before = sys.getswitchinterval()
    try:
        config["post_worker_init"](worker=None)
        assert sys.getswitchinterval() == pytest.approx(0.0005)
    finally:
        sys.setswitchinterval(before)


def test_api_has_no_format_suffix_routes_that_answer_500(admin_api):
    """`/api/segments/1/preview.json/` reached the action with an unexpected `format` argument (a 500)."""
    for path in ("/api/segments/1/preview.json/", "/api/profiles/1/events.json/", "/api/contacts.json"):
        assert admin_api.get(path).status_code == 404, path
    assert admin_api.get("/api/contacts/?format=json").status_code == 200
