"""Every URL needs a login or a key, except an explicit allow-list."""

import re
import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Paths an anonymous visitor may reach: the login page, the health check, the tracking API
# (authenticated by source write keys inside the view), static/media serving, and the open pixel and
# click redirect of tracked e-mail and the unsubscribe link (a signed token in the URL; the recipient has
# no login).
ALLOW_LIST = (
    re.compile(r"^/accounts/login/$"),
    re.compile(r"^/accounts/logout/$"),
    re.compile(r"^/healthz$"),
    re.compile(r"^/readyz$"),
    re.compile(r"^/v1/"),
    re.compile(r"^/beacon/v1/batch$"),  # RudderStack's beacons: write key in the query string
    re.compile(r"^/sourceConfig/$"),  # RudderStack's SDK config: write key in the query string
    re.compile(r"^/admin/login/$"),
    re.compile(r"^/static/"),
    re.compile(r"^/cdp/analytics/"),
    re.compile(r"^/mail/o/[^/]+\.gif$"),
    re.compile(r"^/mail/c/[^/]+/$"),
    re.compile(r"^/mail/u/[^/]+/$"),  # unsubscribe from automated e-mail: a signed token, no login
)
SAMPLES = {
    "int": "1",
    "str": "x",
    "slug": "x",
    "uuid": str(uuid.uuid4()),
    "path": "x",
    "drf_format_suffix": ".json",
}


def _fill_route(route: str) -> str:
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES.get(m.group(1) or "str", "x"), route)


def _fill_regex(regex: str) -> str:
    out, i = [], 0
    while i < len(regex):
        if regex.startswith("(?P<", i):
            depth, j = 0, i
            while j < len(regex):
                if regex[j] == "\\":
                    j += 2
                    continue
                depth += regex[j] == "("
                depth -= regex[j] == ")"
                j += 1
                if depth == 0:
                    break
            name = regex[i + 4 : regex.index(">", i)]
            out.append("json" if name == "format" else "1")
            i = j
            continue
        out.append(regex[i])
        i += 1
    text = "".join(out)
    text = text.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\.", ".").replace("/?", "/")
    return re.sub(r"\(\?:[^)]*\)\??", "", text)


def _walk(patterns, prefix=""):
    for entry in patterns:
        pattern = entry.pattern
        raw = pattern._route if hasattr(pattern, "_route") else pattern._regex
        part = _fill_route(raw) if hasattr(pattern, "_route") else _fill_regex(raw)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + part)
        elif isinstance(entry, URLPattern):
            yield "/" + prefix + part


def all_paths() -> list[str]:
    return sorted(set(_walk(get_resolver().url_patterns)))


def test_url_walk_finds_the_whole_site():
    paths = all_paths()
    assert "/" in paths and "/healthz" in paths and "/api/schema/" in paths
    assert len(paths) > 20


@pytest.mark.parametrize("path", all_paths())
def test_anonymous_request_is_refused_or_sent_to_login(client, path):
    if any(rule.match(path) for rule in ALLOW_LIST):
        pytest.skip("allow-listed: reachable without login")
    for method in ("get", "post"):
        response = getattr(client, method)(path)
        if response.status_code in (301, 302):
            location = response["Location"]
            assert "/login/" in location, f"{method.upper()} {path} redirected to {location}, not to login"
        else:
            assert response.status_code in (401, 403, 405), (
                f"{method.upper()} {path} answered {response.status_code}"
            )


# --- the role matrix ---------------------------------------------------------------------------------
# For each role and every page and API endpoint of the URL conf: may it read (GET) and may it write
# (POST)? The expectation is derived from cdpcrm/roles.py: a path belongs to the app whose permission gates
# it, reading needs "view" on that app, writing (and the pages that only serve writing: new, edit, compose,
# ...) needs "add"/"change". Detail routes use id 1, which does not exist: a refused role must get 403 (the
# permission is checked before the lookup), an allowed one anything but 403 (404, 400 for an empty form,
# 405 for a method the route does not take).

APP_OF_PATH = (
    (re.compile(r"^/api/webhook"), "webhooks"),
    (re.compile(r"^/(api/)?segments/"), "segments"),
    (re.compile(r"^/(api/)?journeys/"), "journeys"),
    (re.compile(r"^/(api/cdp|api/profiles|cdp)/"), "profiles"),
    (re.compile(r"^/(api/(deals|pipelines|stages)|deals)/"), "pipeline"),
    (re.compile(r"^/(api/)?tickets/"), "tickets"),
    (re.compile(r"^/mail/"), "mail"),
    (
        re.compile(r"^/(api/(activities|companies|contacts|loyalty|tasks)|contacts|companies|tasks|views)/"),
        "contacts",
    ),
)
# GET pages that exist only to write: a form to fill, a builder helper, a record's write routes.
WRITE_PAGES = re.compile(
    r"/(new|compose|compose/template|builder/suggestions)/$"
    r"|/\d+/(edit|reply/template|csv|activities|delete|move|stage|tasks|tasks/\d+/complete|quick-create)/$"
)
# Pages of another app's record embedded in a page: gated by that record (404 when it does not exist).
EMBEDDED = re.compile(
    r"^/(cdp|segments|journeys|tickets|mail)/(contacts?|companies|company|profile|deals)/1/"
)
# Refused with 404 rather than 403: records scoped to their owner (another user's mailbox is not found), and
# the loyalty routes, which find the contact first.
REFUSED_AS_NOT_FOUND = re.compile(r"^/mail/mailboxes/1/|^/contacts/1/loyalty/")
# The user's own settings and saved list views, open to every role.
PERSONAL = re.compile(r"^/(accounts/|mail/signature/|views/)")
# Not part of the matrix: logging out ends the session the matrix runs in; the admin site has its own test;
# bulk routes check the permission of the chosen action (tested per app); inbound e-mail has its own secret;
# `.json` suffixes repeat their route.
SKIP = re.compile(r"^/(accounts/logout/|admin/)|/bulk/$|^/api/tickets/inbound-email/|\.json")
ROLE_FIXTURES = {
    "Sales": "sales_user",
    "Support": "support_user",
    "Marketing": "marketing_user",
    "Admin": "admin_user",
}
_GET_REFUSED_AS_METHOD: dict[str, bool] = {}  # path -> the route takes no GET (405 for an admin)


def _app_of(path: str) -> str | None:
    if PERSONAL.match(path):
        return None
    return next((app for pattern, app in APP_OF_PATH if pattern.match(path)), None)


def _may(role: str, app: str | None, action: str) -> bool:
    from cdpcrm.roles import ADMIN, ROLE_PERMISSIONS

    return role == ADMIN or app is None or action in ROLE_PERMISSIONS[role].get(app, ())


def _matrix_paths() -> list[str]:
    return [p for p in all_paths() if not SKIP.search(p) and not any(rule.match(p) for rule in ALLOW_LIST)]


def _check(role: str, path: str, method: str, status: int, allowed: bool) -> str | None:
    if status == 405:
        return None  # the route does not take this method: nothing was done
    if status >= 500:
        return f"{role} {method} {path}: server error {status}"
    if allowed and status == 403:
        return f"{role} {method} {path}: refused (403) but the role may"
    refused_codes = (403, 404) if REFUSED_AS_NOT_FOUND.match(path) or EMBEDDED.match(path) else (403,)
    if not allowed and status not in refused_codes:
        return f"{role} {method} {path}: answered {status} but the role may not"
    return None


@pytest.mark.parametrize("role", list(ROLE_FIXTURES))
def test_role_matrix_reads_and_writes_follow_the_roles(request, client, admin_user, role):
    client.force_login(request.getfixturevalue(ROLE_FIXTURES[role]))
    client.raise_request_exception = False
    admin = Client(raise_request_exception=False)
    admin.force_login(admin_user)
    wrong = []
    for path in _matrix_paths():
        if path not in _GET_REFUSED_AS_METHOD:
            _GET_REFUSED_AS_METHOD[path] = admin.get(path).status_code == 405
        app = _app_of(path)
        if not _GET_REFUSED_AS_METHOD[path]:
            needs = "change" if WRITE_PAGES.search(path) else "view"
            response = client.get(path)
            wrong.append(_check(role, path, "GET", response.status_code, _may(role, app, needs)))
        if path.startswith("/api/") or WRITE_PAGES.search(path) or _GET_REFUSED_AS_METHOD[path]:
            writes = "add" if path.startswith("/api/") and "/1/" not in path else "change"
            response = client.post(path, {})
            wrong.append(_check(role, path, "POST", response.status_code, _may(role, app, writes)))
    wrong = [line for line in wrong if line]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", list(ROLE_FIXTURES))
def test_role_matrix_only_staff_roles_reach_the_admin(request, client, role):
    from cdpcrm.roles import STAFF_ROLES

    client.force_login(request.getfixturevalue(ROLE_FIXTURES[role]))
    response = client.get("/admin/")
    if role in STAFF_ROLES:
        assert response.status_code == 200
    else:
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
