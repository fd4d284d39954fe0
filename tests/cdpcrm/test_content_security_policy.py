"""Pages carry a Content-Security-Policy that refuses inline script; no template relies on inline script."""

import re
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
APPS = ("cdpcrm", "common", "contacts", "pipeline", "tickets", "profiles", "segments")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def _directives(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_pages_send_a_policy_without_inline_script(sales_client):
    header = sales_client.get("/").headers["Content-Security-Policy"]
    policy = _directives(header)
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-eval'" not in header


def test_login_page_and_admin_send_the_policy_too(client, admin_client_role):
    assert "Content-Security-Policy" in client.get("/accounts/login/").headers
    assert "Content-Security-Policy" in admin_client_role.get("/admin/").headers


def test_no_template_has_an_inline_script_or_event_handler():
    folders = [ROOT / "templates", *(ROOT / app for app in APPS)]
    templates = [p for folder in folders for p in folder.rglob("*.html") if "templates" in p.parts]
    assert len(templates) > 50
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)[:80]}"
        for path in templates
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER)
        for match in pattern.finditer(path.read_text())
    ]
    assert found == []
