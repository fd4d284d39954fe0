"""The SSRF guard: private, loopback and link-local addresses are refused unless an admin allows the host."""

import socket

import pytest

from common import outbound
from segments.webhooks.models import AllowedHost

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://172.16.5.5/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(settings, url):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    with pytest.raises(outbound.OutboundRefused, match="private, loopback or link-local"):
        outbound.url_check(url)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "http://user:pw@example.com/", "not a url", "http:///x"]
)
def test_odd_urls_are_refused_with_a_reason(url):
    with pytest.raises(outbound.OutboundRefused):
        outbound.url_check(url)


def test_a_name_resolving_to_a_private_address_is_refused(settings, monkeypatch):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 80))]
    )
    with pytest.raises(outbound.OutboundRefused):
        outbound.url_check("http://innocent.example.com/hook")


def test_an_admin_allowed_host_is_reached_at_the_checked_address(settings, monkeypatch, receiver):
    """The host name resolves once; the connection goes to that address with the host's Host header."""
    settings.OUTBOUND_ALLOWED_HOSTS = []
    port = int(receiver.base.rsplit(":", 1)[1])
    real = socket.getaddrinfo
    calls = []

    def fake(host, *args, **kwargs):
        if host == "crm-sync.internal":
            calls.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(outbound.OutboundRefused):
        outbound.request("POST", f"http://crm-sync.internal:{port}/in", body=b"{}")
    AllowedHost.objects.create(host="CRM-Sync.internal", note="our sync box")
    response = outbound.request("POST", f"http://crm-sync.internal:{port}/in", body=b"{}")
    assert response.status == 200
    assert receiver.requests[-1]["headers"]["Host"] == f"crm-sync.internal:{port}"
    assert calls == ["crm-sync.internal", "crm-sync.internal"]  # once per request, never again at connect


def test_redirects_are_not_followed(receiver):
    receiver.codes = [302]
    response = outbound.request("POST", receiver.url, body=b"{}")
    assert response.status == 302 and len(receiver.requests) == 1


def test_saving_a_private_url_is_refused_with_a_reason(settings, admin_api):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    answer = admin_api.post(
        "/api/webhooks/", {"name": "Internal", "url": "http://10.0.0.8/hook", "topics": ["*"]}, format="json"
    )
    assert answer.status_code == 400 and "private, loopback or link-local" in answer.json()["url"][0]


def test_segment_destination_form_refuses_a_loopback_url(settings):
    from segments.admin import DestinationForm

    settings.OUTBOUND_ALLOWED_HOSTS = []
    form = DestinationForm(data={"name": "x", "kind": "webhook", "url": "http://127.0.0.1:8000/admin/"})
    assert not form.is_valid() and "private, loopback or link-local" in form.errors["url"][0]
