"""SendGrid's signed Event Webhook (ECDSA) and Mailchimp's form-encoded webhooks with the secret in the URL."""

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from profiles.connectors.models import WebhookDelivery
from profiles.models import Event, IngestBatch, Profile, Source

from .conftest import connector_source, fixture_bytes

pytestmark = pytest.mark.django_db

PRIVATE_KEY = ec.generate_private_key(ec.SECP256R1())
# As SendGrid shows the verification key: base64 of the DER SubjectPublicKeyInfo, no PEM armour.
PUBLIC_KEY = base64.b64encode(
    PRIVATE_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()
FORM = "application/x-www-form-urlencoded"


def sendgrid_signed(body: bytes, *, at: int | None = None, key=PRIVATE_KEY) -> dict:
    timestamp = str(int(time.time()) if at is None else at)
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }


@pytest.fixture
def sendgrid():
    return connector_source(Source.Kind.SENDGRID, secret=PUBLIC_KEY, name="SendGrid")


@pytest.fixture
def mailchimp():
    return connector_source(Source.Kind.MAILCHIMP, name="Mailchimp")


def test_sendgrid_batch_becomes_email_events_of_the_recipient(sendgrid, deliver):
    body = fixture_bytes("sendgrid_events.json")
    response = deliver(sendgrid, body, headers=sendgrid_signed(body))
    assert response.status_code == 200
    assert response.json()["reason"] == "skipped: 1 deferred, 1 group_resubscribe"
    names = sorted(Event.objects.filter(source=sendgrid).values_list("name", flat=True))
    assert names == [
        "Email Bounced",
        "Email Delivered",
        "Email Dropped",
        "Email Link Clicked",
        "Email Marked as Spam",
        "Email Opened",
        "Email Processed",
        "Unsubscribed",
        "Unsubscribed",
    ]
    click = Event.objects.get(name="Email Link Clicked")
    assert click.properties["link_url"] == "http://www.sendgrid.com/"
    assert click.message_id == "sendgrid-kCAi1KttyQdEKHhdC-nuEA=="
    assert click.context["ip"] == "255.255.255.255"
    bounce = Event.objects.get(name="Email Bounced")
    assert (bounce.properties["reason"], bounce.properties["bounce_type"]) == (
        "500 unknown recipient",
        "bounce",
    )
    profile = Profile.objects.get(pk=click.profile_id)
    assert profile.identities.filter(kind="email", value="example@test.com").exists()
    assert len(set(Event.objects.filter(source=sendgrid).values_list("profile_id", flat=True))) == 1


def test_sendgrid_bad_or_stale_signature_is_401(sendgrid, deliver):
    body = fixture_bytes("sendgrid_events.json")
    other = ec.generate_private_key(ec.SECP256R1())
    assert deliver(sendgrid, body, headers=sendgrid_signed(body, key=other)).status_code == 401
    headers = sendgrid_signed(body)
    assert (
        deliver(sendgrid, body.replace(b"example@test.com", b"evil@test.com"), headers=headers).status_code
        == 401
    )
    stale = deliver(sendgrid, body, headers=sendgrid_signed(body, at=int(time.time()) - 26 * 3600))
    assert stale.status_code == 401
    assert "tolerance" in stale.json()["error"]
    assert deliver(sendgrid, body).status_code == 401
    assert not IngestBatch.objects.exists()


def test_sendgrid_pem_key_works_too_and_replays_store_nothing_new(deliver):
    pem = (
        PRIVATE_KEY.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    source = connector_source(Source.Kind.SENDGRID, secret=pem, name="SendGrid PEM")
    body = fixture_bytes("sendgrid_events.json")
    for _ in range(2):
        assert deliver(source, body, headers=sendgrid_signed(body)).status_code == 200
    assert Event.objects.filter(source=source).count() == 9


def test_sendgrid_batch_of_nothing_known_is_rejected_with_the_reason(sendgrid, deliver):
    body = json.dumps([{"email": "a@example.com", "event": "deferred", "timestamp": 1}]).encode()
    response = deliver(sendgrid, body, headers=sendgrid_signed(body))
    assert response.status_code == 200
    assert WebhookDelivery.objects.get().reason == "no event of a known type in the batch (1 deferred)"


def test_mailchimp_subscribe_unsubscribe_cleaned_and_email_change(mailchimp, deliver):
    secret = f"secret={mailchimp.connector_secret}"
    for name in ("subscribe", "profile", "unsubscribe", "cleaned", "upemail"):
        body = fixture_bytes(f"mailchimp_{name}.txt")
        response = deliver(mailchimp, body, query=secret, content_type=FORM)
        assert response.json()["status"] == "accepted", (name, response.content)
    subscribed = Event.objects.get(source=mailchimp, name="Subscribed")
    identify = Event.objects.filter(source=mailchimp, type="identify").order_by("timestamp").first()
    assert identify.traits["firstName"] == "Mailchimp"
    assert identify.traits["email"] == "api@mailchimp.com"
    assert subscribed.profile_id == identify.profile_id
    assert subscribed.timestamp.isoformat() == "2009-03-26T21:35:57+00:00"
    unsub = Event.objects.get(source=mailchimp, name="Unsubscribed")
    assert (unsub.properties["reason"], unsub.properties["campaign_id"]) == ("manual", "cb398d21d2")
    cleaned = Event.objects.get(source=mailchimp, name="Email Bounced")
    assert cleaned.properties["reason"] == "hard"
    changed = Event.objects.filter(
        source=mailchimp, type="identify", traits__email="api+new@mailchimp.com"
    ).get()
    assert changed.anonymous_id == "api+old@mailchimp.com"


def test_mailchimp_wrong_secret_is_401_and_the_url_check_is_200(mailchimp, deliver, client):
    body = fixture_bytes("mailchimp_subscribe.txt")
    assert deliver(mailchimp, body, query="secret=nope", content_type=FORM).status_code == 401
    assert deliver(mailchimp, body, content_type=FORM).status_code == 401
    assert client.get(f"/v1/webhooks/{mailchimp.pk}/mailchimp").status_code == 200
    assert not IngestBatch.objects.exists()


def test_mailchimp_unknown_type_is_rejected_and_replays_dedup(mailchimp, deliver):
    secret = f"secret={mailchimp.connector_secret}"
    response = deliver(
        mailchimp, b"type=campaign&fired_at=2009-03-26+21%3A31%3A21", query=secret, content_type=FORM
    )
    assert response.json() == {
        "success": True,
        "status": "rejected",
        "events": 0,
        "reason": "unknown type 'campaign'",
    }
    body = fixture_bytes("mailchimp_unsubscribe.txt")
    for _ in range(3):
        deliver(mailchimp, body, query=secret, content_type=FORM)
    assert Event.objects.filter(source=mailchimp, name="Unsubscribed").count() == 1
