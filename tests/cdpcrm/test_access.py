"""Every URL needs a login or a key, except an explicit allow-list."""

import re
import uuid

import pytest
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
