"""In a real Chromium: every page, its htmx partials, the vendored libraries and the admin run under the
Content-Security-Policy without a single violation."""

import pytest

from tests.cdpcrm.site import admin_paths, html_pages, page_paths, site_objects
from tests.conftest import _user_in_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def test_every_page_runs_under_the_content_security_policy(browser_login, client):
    admin = _user_in_role("Admin", username="csp.admin")
    objects = site_objects(user=admin)
    client.force_login(admin)
    pages = html_pages(client, page_paths(objects) + admin_paths(objects)) + ["/api/docs/"]
    assert len(pages) > 100
    assert "Content-Security-Policy" in client.get("/").headers

    page = browser_login(admin)
    console: list[str] = []
    page.on(
        "console",
        lambda message: (
            console.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text
            else None
        ),
    )
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.add_init_script(RECORD_VIOLATIONS)
    violations = []
    for path in pages:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        violations += [f"{path}: {v}" for v in page.evaluate("window.__cspViolations")]
    assert violations == []
    assert console == []
    assert errors == []
