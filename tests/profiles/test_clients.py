"""Segment's and RudderStack's own server libraries, with only their host changed, against a live server.

Python: segment-analytics-python and rudder-sdk-python (from PyPI, dev dependencies). Node:
@segment/analytics-node and @rudderstack/rudder-sdk-node from the npm registry, installed in tests/node by
.ci/run (`npm ci --prefix tests/node`); those tests skip where Node or the packages are missing.
"""

import shutil
import subprocess
from pathlib import Path

import pytest
import rudderstack.analytics as rudder_analytics
import segment.analytics as analytics
from segment.analytics.request import APIError

from profiles.models import Event, Profile

from .factories import make_source

pytestmark = pytest.mark.django_db(transaction=True)

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
CALL_TYPES = ["alias", "group", "identify", "page", "screen", "track"]


def _node_script(script: str, package: str):
    if not shutil.which("node"):
        pytest.skip("needs Node.js (apt-get install nodejs npm)")
    if not (NODE_DIR / "node_modules" / package).is_dir():
        pytest.skip(f"needs {package} from npm: run `npm ci --prefix tests/node` (.ci/run does)")
    return ["node", str(NODE_DIR / script)]


@pytest.fixture
def segment_client(live_server):
    # sync_mode: each call is posted (gzip, Basic auth, to /v1/batch) before it returns; errors raise.
    return analytics.Client(write_key="unset", host=live_server.url, sync_mode=True, gzip=True, max_retries=0)


def test_segment_analytics_python_sends_every_call_type(segment_client):
    client = segment_client
    _, key = make_source(name="Shop backend", kind="server")
    client.write_key = key

    client.identify("user-42", {"email": "Kim@Example.com", "plan": "gold"})
    client.track("user-42", "Order Completed", {"revenue": 99.5, "currency": "EUR"})
    client.page("user-42", "Shop", "Checkout", {"url": "https://shop.example/checkout?utm_source=mail"})
    client.screen("user-42", "App", "Basket")
    client.group("user-42", "acme", {"name": "Acme"})
    client.alias("anon-1", "user-42")

    assert sorted(Event.objects.values_list("type", flat=True)) == sorted(
        ["identify", "track", "page", "screen", "group", "alias"]
    )
    order = Event.objects.get(type="track")
    assert order.name == "Order Completed" and order.properties == {"revenue": 99.5, "currency": "EUR"}
    assert order.context["library"]["name"] == "analytics-python"
    assert Event.objects.get(type="page").context["campaign"] == {"source": "mail"}
    assert Profile.objects.get().traits["email"] == "Kim@Example.com"


def test_segment_analytics_python_wrong_key_reports_an_error(segment_client):
    client = segment_client
    client.write_key = "not-a-key"
    with pytest.raises(APIError) as error:
        client.track("user-1", "Signed Up")
    assert error.value.status == 401
    assert error.value.message == "invalid write key"
    assert not Event.objects.exists()


def test_rudder_sdk_python_sends_every_call_type_with_identify_traits_in_context(live_server):
    _, key = make_source(name="Rudder backend", kind="server")
    client = rudder_analytics.Client(
        write_key=key, host=live_server.url, sync_mode=True, gzip=True, max_retries=0
    )
    client.identify("user-9", {"email": "Lee@Example.com", "plan": "team"})
    client.track("user-9", "Order Completed", {"revenue": 10})
    client.page("user-9", "Shop", "Checkout", {"url": "https://shop.example/c"})
    client.screen("user-9", "App", "Basket")
    client.group("user-9", "rudder-co", {"name": "Rudder Co"})
    client.alias("anon-9", "user-9")

    assert sorted(Event.objects.values_list("type", flat=True)) == CALL_TYPES
    # rudder-sdk-python sends identify traits only in context.traits: they still reach the profile.
    assert Event.objects.get(type="identify").traits == {"email": "Lee@Example.com", "plan": "team"}
    assert Profile.objects.get().traits == {"email": "Lee@Example.com", "plan": "team"}


def test_rudder_sdk_python_wrong_key_reports_an_error(live_server):
    client = rudder_analytics.Client(write_key="nope", host=live_server.url, sync_mode=True, max_retries=0)
    with pytest.raises(rudder_analytics.request.APIError) as error:
        client.track("user-1", "Signed Up")
    assert error.value.status == 401


@pytest.mark.parametrize(
    "script, package",
    [("segment_node.mjs", "@segment/analytics-node"), ("rudder_node.mjs", "@rudderstack/rudder-sdk-node")],
)
def test_node_libraries_send_every_call_type(live_server, script, package):
    command = _node_script(script, package)
    _, key = make_source(name=f"Node {package}", kind="server")
    done = subprocess.run([*command, live_server.url, key], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert sorted(Event.objects.values_list("type", flat=True)) == CALL_TYPES
    identify = Event.objects.get(type="identify")
    assert identify.traits["email"].lower().endswith("@example.com") and identify.traits["plan"]
    assert Event.objects.get(type="track").properties["revenue"] in (12.5, 7)
    assert Profile.objects.filter(traits__plan__in=["pro", "team"]).count() == 1
