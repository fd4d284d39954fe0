"""Login brute-force protection (django-axes): lockout per user name + address, reset, admin, cool-off."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from common.security.models import AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-1"  # tests/factories.py


def _login(client, username, password, path="/accounts/login/"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR="203.0.113.9")


def _fail(client, username, times, path="/accounts/login/"):
    return [_login(client, username, "wrong", path).status_code for _ in range(times)]


def test_a_wrong_password_shows_the_usual_error_until_the_limit(client, sales_user, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    response = _login(client, sales_user.username, "wrong")
    assert response.status_code == 200 and "didn't match" in response.content.decode()


def test_the_limit_locks_the_account_with_a_plain_message_even_for_the_right_password(client, sales_user):
    assert _fail(client, sales_user.username, 4) == [200] * 4
    locked = _login(client, sales_user.username, "wrong")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert 'id="login-locked-out"' in page and "Too many failed logins" in page and "15 minutes" in page
    right = _login(client, sales_user.username, PASSWORD)
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.LOCKED_OUT).earliest("id")
    assert entry.target == sales_user.username and entry.detail["ip_address"] == "203.0.113.9"


def test_the_lock_is_per_user_name_and_address(client, sales_user, support_user):
    _fail(client, sales_user.username, 5)
    assert _login(client, support_user.username, PASSWORD).status_code == 302
    other_address = client.post(
        "/accounts/login/",
        {"username": sales_user.username, "password": PASSWORD},
        REMOTE_ADDR="198.51.100.7",
    )
    assert other_address.status_code == 302


def test_a_successful_login_resets_the_count(client, sales_user):
    _fail(client, sales_user.username, 4)
    assert _login(client, sales_user.username, PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    assert _fail(client, sales_user.username, 4) == [200] * 4
    assert _login(client, sales_user.username, PASSWORD).status_code == 302


def test_the_admin_login_is_locked_too(client, admin_user):
    assert _fail(client, admin_user.username, 4, "/admin/login/") == [200] * 4
    _fail(client, admin_user.username, 1, "/admin/login/")
    locked = _login(client, admin_user.username, PASSWORD, "/admin/login/")
    assert locked.status_code == 429 and "Too many failed logins" in locked.content.decode()
    # One lock for the pair, whichever login page is used.
    assert _login(client, admin_user.username, PASSWORD).status_code == 429


def test_a_locked_user_logs_in_again_after_the_cool_off(client, sales_user, settings):
    settings.AXES_COOLOFF_TIME = timedelta(minutes=2)
    _fail(client, sales_user.username, 5)
    assert "2 minutes" in _login(client, sales_user.username, PASSWORD).content.decode()
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert _login(client, sales_user.username, PASSWORD).status_code == 302


def test_an_admin_can_unlock_with_axes_reset(client, sales_user):
    from django.core.management import call_command

    _fail(client, sales_user.username, 5)
    call_command("axes_reset_username", sales_user.username)
    assert _login(client, sales_user.username, PASSWORD).status_code == 302
