"""In a real browser: Segment's analytics.js, served by us, sends events from another origin to /v1/."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from profiles.models import Event, IngestBatch
from profiles.sources.snippet import analytics_snippet
from tests.profiles.factories import make_source

pytestmark = pytest.mark.browser


def _wait_for_answers(page, answers: list, expected: int, timeout: float = 10) -> None:
    # Wait on the browser, not by polling the database: SQLite's in-memory test database locks tables.
    deadline = time.monotonic() + timeout
    while len(answers) < expected and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert len(answers) >= expected, f"only {len(answers)} of {expected} tracking calls answered"


@pytest.fixture
def shop_server():
    """A customer's web site on another origin (its own port on 127.0.0.1) serving one page."""
    servers = []

    def serve(html: str) -> str:
        class Page(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(html.encode())

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_analytics_js_from_our_host_sends_page_and_track_cross_origin(browser_page, live_server, shop_server):
    source, key = make_source(name="Website", kind="website")
    html = (
        "<!doctype html><html><head><title>Shop</title>"
        + analytics_snippet(host_url=live_server.url, write_key=key)
        + "</head><body><h1>Shoes</h1></body></html>"
    )
    shop = shop_server(html)
    cdn_requests = []
    browser_page.on(
        "request", lambda request: cdn_requests.append(request.url) if "segment." in request.url else None
    )

    answers = []
    browser_page.on(
        "response",
        lambda response: answers.append(response.status) if response.request.method == "POST" else None,
    )
    browser_page.goto(f"{shop}/shoes?utm_source=newsletter&utm_campaign=spring")

    # One call at a time: SQLite's shared in-memory test database refuses concurrent writers.
    _wait_for_answers(browser_page, answers, 1)
    browser_page.evaluate("analytics.identify('user-7', {email: 'Eve@Example.com'})")
    _wait_for_answers(browser_page, answers, 2)
    browser_page.evaluate("analytics.track('Product Added', {sku: 'SHOE-1', price: 80})")
    _wait_for_answers(browser_page, answers, 3)
    assert answers == [200, 200, 200]
    events = list(Event.objects.all())
    by_type = {event.type: event for event in events}
    assert set(by_type) == {"page", "identify", "track"}
    track = by_type["track"]
    assert track.name == "Product Added" and track.properties == {"sku": "SHOE-1", "price": 80}
    assert track.source == source
    assert track.context["library"]["name"] == "analytics.js"
    assert track.context["campaign"]["source"] == "newsletter"
    assert "Chrome" in track.context["browser"]["name"]
    assert track.profile_id == by_type["identify"].profile_id == by_type["page"].profile_id
    assert by_type["page"].context["page"]["url"].startswith(shop)
    assert IngestBatch.objects.filter(source=source).count() >= 3
    assert cdn_requests == [], "analytics.js reached out to Segment's servers"
