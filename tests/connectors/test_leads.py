"""Ad lead forms: Google Ads (google_key in the body) and the generic lead webhook with a field mapping."""

import hashlib
import hmac
import json

import pytest

from profiles.connectors.models import WebhookDelivery
from profiles.models import Event, IngestBatch, Profile, Source

from .conftest import connector_source, fixture_bytes, fixture_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def google():
    return connector_source(
        Source.Kind.GOOGLE_ADS,
        secret="google-key-set-on-the-form",
        name="Google Ads leads",
        campaign_names={"987654321": "Spring leads"},
    )


@pytest.fixture
def leads():
    return connector_source(
        Source.Kind.LEAD_WEBHOOK,
        name="Meta leads",
        network="facebook",
        field_map={
            "email": "answers.work_email",
            "name": "answers.name",
            "lead_id": "id",
            "campaign.name": "ad.campaign",
        },
    )


def test_google_lead_is_identify_and_lead_captured_with_the_campaign(google, deliver):
    body = fixture_bytes("google_ads_lead.json")
    response = deliver(google, body)
    assert response.status_code == 200
    assert response.json()["events"] == 2
    lead = Event.objects.get(source=google, name="Lead Captured")
    assert lead.context["campaign"] == {
        "source": "google",
        "medium": "cpc",
        "id": "987654321",
        "name": "Spring leads",
        "content": "30000000000",
        "gclid": "gcl-id-123",
    }
    assert lead.properties["form_id"] == 123456789
    assert lead.properties["answers"] == {"What is your budget?": "1000-5000"}
    assert lead.timestamp.isoformat() == "2024-09-26T12:30:00+00:00"
    identify = Event.objects.get(source=google, type="identify")
    assert identify.traits == {
        "name": "FirstName LastName",
        "phone": "+16505550123",
        "email": "test@example.com",
        "address": {"postalCode": "94043"},
    }
    identities = set(Profile.objects.get(pk=lead.profile_id).identities.values_list("kind", "value"))
    assert {("email", "test@example.com"), ("phone", "+16505550123")} <= identities


def test_google_wrong_key_or_unreadable_body_is_401(google, deliver):
    lead = fixture_json("google_ads_lead.json")
    lead["google_key"] = "guess"
    assert deliver(google, json.dumps(lead).encode()).status_code == 401
    assert deliver(google, b"not json").status_code == 401
    assert not IngestBatch.objects.exists()


def test_google_redelivered_lead_is_stored_once(google, deliver):
    body = fixture_bytes("google_ads_lead.json")
    deliver(google, body)
    deliver(google, body)
    assert Event.objects.filter(source=google).count() == 2


def test_generic_lead_uses_the_configured_field_map(leads, deliver):
    payload = {
        "id": 4711,
        "answers": {"work_email": "Ann@Example.com", "name": "Ann Lee"},
        "ad": {"campaign": "Autumn"},
        "budget": 300,
    }
    response = deliver(
        leads, json.dumps(payload).encode(), headers={"X-Webhook-Secret": leads.connector_secret}
    )
    assert response.status_code == 200, response.content
    lead = Event.objects.get(source=leads, name="Lead Captured")
    assert lead.message_id == "lead-facebook-4711"
    assert lead.context["campaign"] == {"source": "facebook", "name": "Autumn"}
    assert lead.properties["fields"] == {"budget": 300}
    identify = Event.objects.get(source=leads, type="identify")
    assert identify.traits == {"email": "ann@example.com", "name": "Ann Lee"}


def test_generic_lead_accepts_a_signed_body_and_refuses_a_wrong_secret(leads, deliver):
    body = json.dumps({"id": 1, "answers": {"work_email": "b@example.com"}}).encode()
    signature = "sha256=" + hmac.new(leads.connector_secret.encode(), body, hashlib.sha256).hexdigest()
    assert deliver(leads, body, headers={"X-Webhook-Signature": signature}).status_code == 200
    assert deliver(leads, body, headers={"X-Webhook-Signature": "sha256=00"}).status_code == 401
    assert deliver(leads, body, headers={"X-Webhook-Secret": "nope"}).status_code == 401
    assert deliver(leads, body, query=f"secret={leads.connector_secret}").status_code == 200


def test_generic_lead_without_email_or_phone_is_rejected_with_the_reason(leads, deliver):
    response = deliver(
        leads, b'{"id": 2, "answers": {}}', headers={"X-Webhook-Secret": leads.connector_secret}
    )
    assert response.status_code == 200
    assert WebhookDelivery.objects.get().reason.startswith(
        "the lead has no e-mail or phone at the mapped fields"
    )


@pytest.mark.parametrize("limit", ["2/m"])
def test_deliveries_over_the_rate_limit_are_429_and_stored_nothing(leads, deliver, settings, limit):
    settings.TRACKING_RATE_LIMIT = limit
    headers = {"X-Webhook-Secret": leads.connector_secret}
    answers = [
        deliver(leads, f'{{"email": "r{n}@example.com", "lead_id": "r{n}"}}'.encode(), headers=headers)
        for n in range(3)
    ]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2]["Retry-After"]) >= 1
    assert WebhookDelivery.objects.count() == 2
