"""In Chromium, from a shop page on another origin: analytics.js (the vendored analytics-next) and RudderStack's
browser SDK (@rudderstack/analytics-js from npm) deliver every event exactly once through a 429 and a 5xx.

A retry of either SDK carries headers of its own (X-Retry-Count; AnonymousId, SentAt, Rsa-Retry-Attempt), so
the CORS preflight must allow them or the retried events are lost. The 5xx is our own 503 while "the
database is down" (its INSERT fails twice); the 429 comes from a low TRACKING_RATE_LIMIT.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import OperationalError

from profiles.models import Event, IngestBatch
from profiles.sources.snippet import analytics_snippet
from tests.profiles.factories import make_source

pytestmark = pytest.mark.browser

RUDDER_SDK = (
    Path(__file__).resolve().parent.parent
    / "node/node_modules/@rudderstack/analytics-js/dist/npm/modern/bundled/umd/index.js"
)


@pytest.fixture
def shop_server():
    """A customer's web site on another origin (its own port on 127.0.0.1): pages and script files."""
    servers = []

    def serve(files: dict[str, tuple[str, bytes]]) -> str:
        class Site(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                content_type, body = files.get(self.path.split("?")[0], ("text/plain", b"not found"))
                self.send_response(200 if self.path.split("?")[0] in files else 404)
                self.send_header("Content-Type", content_type)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def database_down_twice(monkeypatch):
    """The inbox INSERT fails twice (the tracking API answers 503), then the database is back."""
    failures = []
    real_create = IngestBatch.objects.create

    def create(**kwargs):
        if len(failures) < 2:
            failures.append(kwargs.get("kind"))
            raise OperationalError("could not connect to server")
        return real_create(**kwargs)

    monkeypatch.setattr(IngestBatch.objects, "create", create)
    return failures


class Answers:
    """Statuses of the page's tracking POSTs, read on the browser (SQLite's in-memory test database
    locks tables, so the test waits on the page, not by polling the database)."""

    def __init__(self, page):
        self.page, self.statuses = page, []
        page.on("response", self._seen)

    def _seen(self, response):
        if response.request.method == "POST" and ("/v1/" in response.url or "/beacon/" in response.url):
            self.statuses.append(response.status)

    def wait_for_successes(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.statuses.count(200) < count and time.monotonic() < deadline:
            self.page.wait_for_timeout(100)
        assert self.statuses.count(200) >= count, f"answers so far: {self.statuses}"


def _stored_once(names: list[str]) -> None:
    events = list(Event.objects.values_list("type", "name", "message_id"))
    assert len({m for _, _, m in events}) == len(events)
    tracked = sorted(name for kind, name, _ in events if kind == "track")
    assert tracked == sorted(names), events


def test_analytics_js_delivers_every_event_once_through_a_5xx_and_a_429(
    browser_page, live_server, shop_server, settings, database_down_twice
):
    settings.TRACKING_RATE_LIMIT = "1/s"
    _, key = make_source(name="Website", kind="website")
    html = f"<!doctype html><html><head>{analytics_snippet(host_url=live_server.url, write_key=key)}</head><body>Shop</body></html>"
    shop = shop_server({"/": ("text/html; charset=utf-8", html.encode())})
    answers = Answers(browser_page)
    browser_page.goto(shop + "/")

    answers.wait_for_successes(1)  # the page call, after two 503s
    names = [f"Product Viewed {n}" for n in range(4)]
    for done, name in enumerate(names, start=2):
        # One call at a time (SQLite); each one right after the last, so the 1/s limit answers 429s.
        browser_page.evaluate("name => analytics.track(name, {sku: name})", name)
        answers.wait_for_successes(done)
    browser_page.wait_for_timeout(1500)  # nothing is sent twice afterwards

    assert len(database_down_twice) == 2
    assert 503 in answers.statuses and 429 in answers.statuses
    _stored_once(names)
    assert Event.objects.filter(type="page").count() == 1


def _rudder_site(key: str, host: str, sdk: bytes, *, beacon: bool = False) -> dict:
    """A page that loads the SDK from the shop's own origin, with its config and data plane on our host."""
    options = {"configUrl": host}
    if beacon:
        options |= {"useBeacon": True, "beaconQueueOptions": {"maxItems": 1, "flushQueueInterval": 200}}
    boot = (
        "window.ra = new rudderanalytics.RudderAnalytics();\n"
        f"ra.load({json.dumps(key)}, {json.dumps(host)}, {json.dumps(options)});\n"
        "ra.page('Shop', 'Home');\n"
    )
    html = '<!doctype html><html><head><script src="/rsa.js"></script><script src="/boot.js"></script></head><body>Shop</body></html>'
    return {
        "/": ("text/html; charset=utf-8", html.encode()),
        "/rsa.js": ("application/javascript", sdk),
        "/boot.js": ("application/javascript", boot.encode()),
    }


@pytest.fixture
def rudder_sdk():
    if not RUDDER_SDK.is_file():
        pytest.skip(
            "needs @rudderstack/analytics-js from npm: run `npm ci --prefix tests/node` (.ci/run does)"
        )
    return RUDDER_SDK.read_bytes()


def test_rudderstack_sdk_loads_its_config_here_and_delivers_through_a_5xx_and_a_429(
    browser_page, live_server, shop_server, settings, database_down_twice, rudder_sdk
):
    settings.TRACKING_RATE_LIMIT = "1/s"
    _, key = make_source(name="Website", kind="website")
    shop = shop_server(_rudder_site(key, live_server.url, rudder_sdk))
    answers = Answers(browser_page)
    config = []
    browser_page.on("response", lambda r: config.append(r.status) if "/sourceConfig/" in r.url else None)
    browser_page.goto(shop + "/")

    answers.wait_for_successes(1)
    assert config == [200]
    names = [f"Product Viewed {n}" for n in range(3)]
    for done, name in enumerate(names, start=2):
        browser_page.evaluate("name => ra.track(name, {sku: name})", name)
        answers.wait_for_successes(done)
    browser_page.evaluate("ra.identify('rudder-user', {email: 'Rita@Example.com', plan: 'gold'})")
    answers.wait_for_successes(len(names) + 2)
    browser_page.wait_for_timeout(1500)

    assert 503 in answers.statuses and 429 in answers.statuses
    _stored_once(names)
    identify = Event.objects.get(type="identify")
    assert identify.traits["plan"] == "gold"  # the SDK sends them in context.traits only
    assert identify.context["library"]["name"] == "RudderLabs JavaScript SDK"


def test_rudderstack_sdk_in_beacon_mode_posts_to_the_beacon_path(
    browser_page, live_server, shop_server, rudder_sdk
):
    _, key = make_source(name="Website", kind="website")
    shop = shop_server(_rudder_site(key, live_server.url, rudder_sdk, beacon=True))
    beacons = []
    browser_page.on(
        "request",
        lambda r: beacons.append(r.url) if "/beacon/v1/batch" in r.url and r.method == "POST" else None,
    )
    answers = Answers(browser_page)
    browser_page.goto(shop + "/")
    answers.wait_for_successes(1)
    browser_page.evaluate("ra.track('Checkout Started', {step: 1})")
    answers.wait_for_successes(2)

    assert beacons and all(f"writeKey={key}" in url for url in beacons)
    assert sorted(Event.objects.values_list("type", flat=True)) == ["page", "track"]
