"""Outbound webhooks: outbox in the change's transaction, REST payloads, signatures, rotation, order,
retries with backoff, replay, the API and the delivery log."""

import datetime
import json
import time

import pytest
from django.db import transaction
from django.utils import timezone

from contacts import services as contact_services
from contacts.models import Contact
from pipeline import services as deal_services
from pipeline.models import Stage
from segments.webhooks import services
from segments.webhooks.models import Endpoint, OutboxEvent, WebhookDelivery
from segments.webhooks.signing import signature_verify

pytestmark = pytest.mark.django_db


def _endpoint(url, topics=("contact.*",), name="CRM mirror"):
    return services.endpoint_save(name=name, url=url, topics=list(topics))


def test_a_contact_change_is_sent_signed_with_its_rest_representation(
    receiver, django_capture_on_commit_callbacks
):
    endpoint = _endpoint(receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        contact = contact_services.contact_create(user=None, first_name="Ann", email="ann@example.com")
    (request,) = receiver.requests
    body, headers = request["body"], request["headers"]
    payload = json.loads(body)
    assert payload["type"] == "contact.created" and payload["sequence"] == 1
    assert payload["data"]["id"] == contact.pk and payload["data"]["email"] == "ann@example.com"
    assert payload["data"]["full_name"] == "Ann"  # the API's representation
    assert signature_verify(
        secret=endpoint.secret,
        header=headers["X-Cdpcrm-Signature"],
        timestamp=headers["X-Cdpcrm-Timestamp"],
        body=body,
        now=time.time(),
    )
    assert not signature_verify(
        secret="whsec_wrong",
        header=headers["X-Cdpcrm-Signature"],
        timestamp=headers["X-Cdpcrm-Timestamp"],
        body=body,
        now=time.time(),
    )
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_code, delivery.status_line) == (
        "delivered",
        200,
        "HTTP 200 OK",
    )


def test_a_rolled_back_change_leaves_no_webhook(receiver):
    _endpoint(receiver.url)
    with pytest.raises(RuntimeError), transaction.atomic():
        contact_services.contact_create(user=None, first_name="Gone", email="gone@example.com")
        raise RuntimeError
    assert not OutboxEvent.objects.exists() and receiver.requests == []


def test_unsubscribed_topics_write_nothing(receiver, django_assert_num_queries):
    _endpoint(receiver.url, topics=["deal.won"])
    services.subscribed_topics()  # warm the cache
    contact_services.contact_create(user=None, first_name="Bob")
    assert not OutboxEvent.objects.exists()


def test_deal_topics_stage_changed_then_won(receiver, django_capture_on_commit_callbacks, sales_user):
    _endpoint(receiver.url, topics=["deal.*"])
    contact = contact_services.contact_create(user=None, first_name="Buyer")
    with django_capture_on_commit_callbacks(execute=True):
        deal = deal_services.deal_create(user=sales_user, title="Big", amount=100, contact=contact)
    won = Stage.objects.get(pipeline=deal.pipeline, kind="won")
    with django_capture_on_commit_callbacks(execute=True):
        deal_services.deal_move(deal=deal, stage=won, user=sales_user)
    topics = [json.loads(r["body"])["type"] for r in receiver.requests]
    assert topics == ["deal.created", "deal.stage_changed", "deal.won"]
    assert [json.loads(r["body"])["sequence"] for r in receiver.requests] == [1, 2, 3]


def test_failures_back_off_exponentially_and_keep_only_a_status_line(
    receiver, django_capture_on_commit_callbacks
):
    receiver.codes = [500, 503]
    _endpoint(receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_create(user=None, first_name="Cy")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "retrying" and delivery.status_line == "HTTP 500 Internal Server Error"
    assert "hunter2" not in delivery.status_line
    first_wait = delivery.next_attempt_at - delivery.last_attempt_at
    services.delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert (
        delivery.next_attempt_at - delivery.last_attempt_at == 2 * first_wait == datetime.timedelta(minutes=2)
    )
    services.delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 3


def test_the_last_attempt_is_about_a_day_after_the_first():
    total = sum((services.backoff(n) for n in range(1, services.MAX_ATTEMPTS)), datetime.timedelta())
    assert datetime.timedelta(hours=20) <= total <= datetime.timedelta(hours=30)


def test_changes_of_one_object_are_delivered_in_order(receiver, django_capture_on_commit_callbacks):
    receiver.codes = [500]  # the first change fails once
    _endpoint(receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        contact = contact_services.contact_create(user=None, first_name="Dee")
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_update(contact=contact, user=None, job_title="CTO")
    # The update waited behind the failed creation instead of overtaking it.
    assert [json.loads(r["body"])["sequence"] for r in receiver.requests] == [1]
    later = timezone.now() + datetime.timedelta(hours=1)
    services.deliveries_send_due(now=later)
    services.deliveries_send_due(now=later + datetime.timedelta(seconds=5))
    assert [json.loads(r["body"])["sequence"] for r in receiver.requests] == [1, 1, 2]
    update = json.loads(receiver.requests[-1]["body"])
    assert update["type"] == "contact.updated" and update["data"]["changes"] == {"job_title": [None, "CTO"]}


def test_rotation_signs_with_both_secrets_during_the_overlap(receiver, django_capture_on_commit_callbacks):
    endpoint = _endpoint(receiver.url)
    old = endpoint.secret
    services.endpoint_secret_rotate(endpoint=endpoint)
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_create(user=None, first_name="Eve")
    request = receiver.requests[-1]
    args = {
        "header": request["headers"]["X-Cdpcrm-Signature"],
        "timestamp": request["headers"]["X-Cdpcrm-Timestamp"],
        "body": request["body"],
        "now": time.time(),
    }
    assert signature_verify(secret=old, **args) and signature_verify(secret=endpoint.secret, **args)
    Endpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_create(user=None, first_name="Fay")
    request = receiver.requests[-1]
    args = {
        "header": request["headers"]["X-Cdpcrm-Signature"],
        "timestamp": request["headers"]["X-Cdpcrm-Timestamp"],
        "body": request["body"],
        "now": time.time(),
    }
    assert not signature_verify(secret=old, **args)


def test_a_stale_timestamp_fails_verification():
    assert not signature_verify(
        secret="s", header="v1=00", timestamp=str(int(time.time()) - 3600), body=b"{}", now=time.time()
    )


def test_replay_sends_the_same_event_again(receiver, django_capture_on_commit_callbacks):
    _endpoint(receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_create(user=None, first_name="Gil")
    original = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        replay = services.delivery_replay(delivery=original)
    replay.refresh_from_db()
    assert replay.status == "delivered" and replay.replay_of == original
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]


def test_a_private_receiver_is_refused_without_an_allowance(settings, django_capture_on_commit_callbacks):
    _endpoint("http://127.0.0.1:9/admin")  # allowed when it was saved; the allowance is then withdrawn
    settings.OUTBOUND_ALLOWED_HOSTS = []
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_create(user=None, first_name="Hal")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "retrying" and "private, loopback or link-local" in delivery.status_line


def test_api_lists_subscriptions_and_deliveries_and_replays(
    admin_api, marketing_api, receiver, django_capture_on_commit_callbacks
):
    created = admin_api.post(
        "/api/webhooks/", {"name": "Mirror", "url": receiver.url, "topics": ["contact.*"]}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["secret"].startswith("whsec_")
    bad = admin_api.post(
        "/api/webhooks/", {"name": "Bad", "url": receiver.url, "topics": ["contact.eaten"]}, format="json"
    )
    assert bad.status_code == 400 and "topics" in bad.json()
    with django_capture_on_commit_callbacks(execute=True):
        Contact.objects.count()
        contact_services.contact_create(user=None, first_name="Ida")
    log = admin_api.get("/api/webhook-deliveries/").json()
    assert log["count"] == 1 and log["results"][0]["status"] == "delivered"
    delivery_id = log["results"][0]["id"]
    replay = admin_api.post(f"/api/webhook-deliveries/{delivery_id}/replay/")
    assert replay.status_code == 201
    rotated = admin_api.post(f"/api/webhooks/{created.json()['id']}/rotate-secret/")
    assert rotated.json()["secret"] != created.json()["secret"]
    assert marketing_api.get("/api/webhooks/").status_code == 403


def test_company_ticket_activity_segment_and_merge_topics(receiver, django_capture_on_commit_callbacks):
    from profiles.models import Profile, ProfileMerge
    from segments import services as segment_services
    from segments.models import Segment
    from segments.webhooks.receivers import merges_poll
    from tickets import services as ticket_services

    _endpoint(receiver.url, topics=["*"])
    with django_capture_on_commit_callbacks(execute=True):
        company = contact_services.company_create(user=None, name="Acme")
        contact = contact_services.contact_create(user=None, first_name="Jo", email="jo@example.com")
        contact_services.activity_create(author=None, kind="note", contact=contact, body="Called")
        ticket = ticket_services.ticket_create(user=None, contact=contact, subject="Help")
        ticket_services.ticket_status_change(user=None, ticket=ticket, status="solved")
        segment = Segment.objects.create(name="Gold", rule={"trait": "tier", "op": "eq", "value": "gold"})
        member = Profile.objects.create(traits={"tier": "gold"})
        segment_services.segment_profiles_recheck(segment_id=segment.pk, profile_ids=[member.pk])
        gone = Profile.objects.create()
        ProfileMerge.objects.create(survivor=member, merged=gone, rule="identify", created_at=timezone.now())
        merges_poll()
        merges_poll()  # read again: recorded once
        contact_services.company_delete(company=company, user=None)
    topics = [json.loads(r["body"])["type"] for r in receiver.requests]
    for topic in (
        "company.created",
        "contact.created",
        "activity.created",
        "ticket.created",
        "ticket.updated",
        "ticket.solved",
        "segment.entered",
        "profile.merged",
        "company.deleted",
    ):
        assert topic in topics
    assert topics.count("profile.merged") == 1
    deleted = next(
        json.loads(r["body"]) for r in receiver.requests if json.loads(r["body"])["type"] == "company.deleted"
    )
    assert deleted["data"]["deleted"] is True and deleted["data"]["name"] == "Acme"
    entered = next(
        json.loads(r["body"]) for r in receiver.requests if json.loads(r["body"])["type"] == "segment.entered"
    )
    assert entered["object_key"] == f"segment:{segment.pk}:profile:{member.pk}"
