"""The connector section of the source page: URL and secret to paste, deliveries, rejections, test button."""

import pytest

from profiles.connectors.models import WebhookDelivery
from profiles.models import Event, Source
from profiles.sources.services import source_create

from .conftest import connector_source

pytestmark = pytest.mark.django_db


def test_a_made_secret_is_ready_when_the_source_is_created():
    source, _ = source_create(name="Leads", kind=Source.Kind.LEAD_WEBHOOK)
    assert len(Source.objects.get(pk=source.pk).connector_secret) >= 24
    shop, _ = source_create(name="Shop", kind=Source.Kind.SHOPIFY)
    assert Source.objects.get(pk=shop.pk).connector_secret == ""  # Shopify's secret is pasted from Shopify


def test_page_shows_url_secret_deliveries_rejections_and_refused_signatures(marketing_client, deliver):
    source = connector_source(Source.Kind.MAILCHIMP, name="Mailchimp")
    deliver(
        source,
        b"type=campaign",
        query=f"secret={source.connector_secret}",
        content_type="application/x-www-form-urlencoded",
    )
    deliver(source, b"type=subscribe", query="secret=wrong", content_type="application/x-www-form-urlencoded")
    page = marketing_client.get(source.get_absolute_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/v1/webhooks/{source.pk}/mailchimp?secret={source.connector_secret}" in html
    assert "unknown type &#x27;campaign&#x27;" in html
    assert 'data-testid="bad-signatures"' in html
    assert "the secret in the URL does not match" in html


def test_pasting_the_vendor_secret_and_sending_a_test_event(
    marketing_client, django_capture_on_commit_callbacks
):
    source = connector_source(Source.Kind.SHOPIFY, name="Shopify")
    url = f"/cdp/connectors/{source.pk}/"
    response = marketing_client.post(url + "secret/", {"secret": "shpss_pasted"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Secret saved" in response.content.decode()
    source.refresh_from_db()
    assert source.connector_secret == "shpss_pasted"
    with django_capture_on_commit_callbacks(execute=True):
        response = marketing_client.post(url + "test/", HTTP_HX_REQUEST="true")
    assert "Test delivery accepted: 2 event(s)" in response.content.decode()
    delivery = WebhookDelivery.objects.get(source=source)
    assert delivery.test
    assert Event.objects.filter(source=source, name="Order Completed", context__test=True).exists()


@pytest.mark.parametrize(
    "kind",
    [
        k
        for k in Source.Kind.values
        if k in {"shopify", "stripe", "sendgrid", "mailchimp", "google_ads", "lead_webhook"}
    ],
)
def test_every_connector_test_event_goes_through(kind, marketing_client):
    source = connector_source(kind, name=kind, secret="s3cr3t" if kind in ("shopify", "stripe") else None)
    response = marketing_client.post(f"/cdp/connectors/{source.pk}/test/", HTTP_HX_REQUEST="true")
    assert "Test delivery accepted" in response.content.decode(), response.content.decode()[:500]


def test_sales_cannot_change_a_connector(sales_client):
    source = connector_source(Source.Kind.SHOPIFY, name="Shopify")
    assert sales_client.post(f"/cdp/connectors/{source.pk}/secret/", {"secret": "x"}).status_code == 403


def test_source_page_queries_do_not_grow_with_deliveries(
    marketing_client, deliver, django_assert_max_num_queries
):
    source = connector_source(Source.Kind.LEAD_WEBHOOK, name="Leads")
    headers = {"X-Webhook-Secret": source.connector_secret}
    deliver(source, b'{"email": "a@example.com", "lead_id": "1"}', headers=headers)
    with django_assert_max_num_queries(40) as few:
        marketing_client.get(source.get_absolute_url())
    few_count = len(few.captured_queries)  # read now: each request below resets the connection's query log
    for n in range(15):
        deliver(source, f'{{"email": "a{n}@example.com", "lead_id": "x{n}"}}'.encode(), headers=headers)
        deliver(source, b'{"lead_id": "no-email"}', headers=headers)
    with django_assert_max_num_queries(few_count):
        page = marketing_client.get(source.get_absolute_url())
    assert page.content.decode().count("Stored 2") >= 10


def test_an_admin_sets_the_connector_config_and_bad_values_are_named(admin_client_role):
    source = connector_source(Source.Kind.SHOPIFY, name="Shopify")
    url = f"/admin/profiles/source/{source.pk}/change/"
    data = {"name": "Shopify", "kind": "shopify", "enabled": "on"}
    response = admin_client_role.post(
        url, {**data, "connector_config": '{"loyalty_points_per_unit": "many"}'}
    )
    assert response.status_code == 200
    assert "loyalty_points_per_unit must be a number of at least 0." in response.content.decode()
    response = admin_client_role.post(
        url, {**data, "connector_config": '{"loyalty_points_per_unit": 2, "abandon_after_minutes": 45}'}
    )
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.connector_config == {"loyalty_points_per_unit": 2, "abandon_after_minutes": 45}


def test_old_deliveries_and_finished_checkouts_are_purged(deliver):
    from datetime import timedelta

    from django.utils import timezone

    from profiles.connectors.models import OpenCheckout
    from profiles.connectors.services import connectors_purge

    source = connector_source(Source.Kind.LEAD_WEBHOOK, name="Leads")
    deliver(
        source,
        b'{"email": "a@example.com", "lead_id": "1"}',
        headers={"X-Webhook-Secret": source.connector_secret},
    )
    old = timezone.now() - timedelta(days=400)
    WebhookDelivery.objects.update(received_at=old)
    OpenCheckout.objects.create(source=source, token="done", call={}, updated_at=old, completed_at=old)
    OpenCheckout.objects.create(source=source, token="open", call={"x": 1}, updated_at=old)
    assert connectors_purge(older_than_days=30) == 2
    assert list(OpenCheckout.objects.values_list("token", flat=True)) == ["open"]


def test_a_replayed_delivery_shows_as_duplicate_on_the_page(marketing_client, deliver):
    source = connector_source(Source.Kind.LEAD_WEBHOOK, name="Leads")
    headers = {"X-Webhook-Secret": source.connector_secret}
    for _ in range(2):
        deliver(source, b'{"email": "a@example.com", "lead_id": "7"}', headers=headers)
    html = marketing_client.get(source.get_absolute_url()).content.decode()
    assert html.count("Duplicate (already stored)") == 1
    assert html.count("Stored 2") == 1


def test_creating_a_connector_source_points_at_its_webhook_setup(marketing_client):
    response = marketing_client.post("/cdp/sources/new/", {"name": "Our shop", "kind": "shopify"})
    assert response.status_code == 200
    assert 'data-testid="connector-hint"' in response.content.decode()
