"""Writes of outbound webhooks: recording changes in the outbox (inside their transaction), sending them
signed, in order per object, with exponential backoff for about a day, and replaying them.

A change becomes one OutboxEvent (numbered per object) and one WebhookDelivery per subscribed endpoint, in
the transaction of the change; after the commit a task sends them, and a beat sweep sends whatever is due
(retries, lost messages, expired leases). A delivery is not sent while an earlier one of the same object
to the same endpoint is still waiting, so receivers see each object's changes in order.
"""

import datetime
import json
import logging
import time
import uuid
from collections.abc import Iterable

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from common import outbound

from .models import TOPICS, Endpoint, OutboxEvent, WebhookDelivery
from .signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_header

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 14  # 1, 2, 4 ... 128 minutes, then every 4 hours: the last attempt is about a day later
LEASE = datetime.timedelta(minutes=2)
TIMEOUT_SECONDS = 10
TOPICS_CACHE_KEY = "webhooks:topics:v1"
ROTATION_OVERLAP = datetime.timedelta(hours=24)


def backoff(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=min(2 ** (attempts - 1), 240))


def endpoints_changed() -> None:
    cache.delete(TOPICS_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(TOPICS_CACHE_KEY))


def subscribed_topics() -> set[str]:
    """Topics at least one enabled endpoint listens to (cached until an endpoint changes)."""
    topics = cache.get(TOPICS_CACHE_KEY)
    if topics is None:
        topics = set()
        for endpoint in Endpoint.objects.filter(enabled=True).only("topics"):
            topics |= {t for t in TOPICS if endpoint.wants(t)}
        cache.set(TOPICS_CACHE_KEY, topics, 300)
    return topics


def _next_sequences(keys: list[str]) -> dict[str, int]:
    last = dict(
        OutboxEvent.objects.filter(object_key__in=keys)
        .values("object_key")
        .annotate(n=Max("sequence"))
        .values_list("object_key", "n")
    )
    return {key: (last.get(key) or 0) + 1 for key in keys}


def _kick() -> None:
    from .tasks import webhooks_send_task

    transaction.on_commit(webhooks_send_task.delay)


def _events_insert(
    *,
    topic: str,
    items: list[tuple[str, dict]],
    now: datetime.datetime,
    endpoints: list[Endpoint],
    source_refs=None,
) -> int:
    """Insert the events (numbered per object) and one delivery per endpoint; returns deliveries made."""
    if not items or not endpoints:
        return 0
    for attempt in range(3):
        try:
            with transaction.atomic():
                keys = sorted({key for key, _ in items})
                sequences = _next_sequences(keys)
                events = []
                for index, (key, data) in enumerate(items):
                    sequence = sequences[key]
                    sequences[key] += 1
                    payload = {
                        "id": f"evt_{uuid.uuid4().hex}",
                        "type": topic,
                        "created_at": now.isoformat(),
                        "object_key": key,
                        "sequence": sequence,
                        "data": data,
                    }
                    events.append(
                        OutboxEvent(
                            topic=topic,
                            object_key=key,
                            sequence=sequence,
                            payload=payload,
                            created_at=now,
                            source_ref=source_refs[index] if source_refs else None,
                        )
                    )
                created = OutboxEvent.objects.bulk_create(events, batch_size=2000)
                if any(e.pk is None for e in created):  # no RETURNING: read them back
                    ids = dict(
                        OutboxEvent.objects.filter(
                            object_key__in=keys, created_at=now, topic=topic
                        ).values_list("sequence", "pk")
                    )
                    for event in created:
                        event.pk = ids.get(event.sequence)
                WebhookDelivery.objects.bulk_create(
                    [
                        WebhookDelivery(
                            endpoint=endpoint,
                            event_id=event.pk,
                            object_key=event.object_key,
                            sequence=event.sequence,
                            created_at=now,
                            next_attempt_at=now,
                        )
                        for event in created
                        for endpoint in endpoints
                    ],
                    batch_size=2000,
                )
            break
        except IntegrityError:
            if source_refs or attempt == 2:
                raise
            continue  # a concurrent change of the same object took the number: read it again
    _kick()
    return len(items) * len(endpoints)


def events_record(*, topic: str, items: list[tuple[str, dict]], now: datetime.datetime | None = None) -> int:
    """Inside the change's transaction: record `items` ((object key, REST representation)) for subscribers."""
    if topic not in subscribed_topics():
        return 0
    endpoints = [e for e in Endpoint.objects.filter(enabled=True) if e.wants(topic)]
    return _events_insert(topic=topic, items=items, now=now or timezone.now(), endpoints=endpoints)


def events_record_polled(*, topic: str, items: list[tuple[str, dict, str]], now: datetime.datetime) -> int:
    """For pollers: like events_record, but each item has a source ref and is recorded at most once."""
    if topic not in subscribed_topics() or not items:
        return 0
    seen = set(
        OutboxEvent.objects.filter(source_ref__in=[ref for _, _, ref in items]).values_list(
            "source_ref", flat=True
        )
    )
    fresh = [item for item in items if item[2] not in seen]
    endpoints = [e for e in Endpoint.objects.filter(enabled=True) if e.wants(topic)]
    return _events_insert(
        topic=topic,
        items=[(k, d) for k, d, _ in fresh],
        now=now,
        endpoints=endpoints,
        source_refs=[r for _, _, r in fresh],
    )


def endpoint_call(
    *, endpoint_id: int, topic: str, items: list[tuple[str, dict]], now: datetime.datetime
) -> str | None:
    """A journey step calling one endpoint whatever its topics; returns its name, or None if disabled/gone."""
    endpoint = Endpoint.objects.filter(pk=endpoint_id, enabled=True).first()
    if endpoint is None:
        return None
    _events_insert(topic=topic, items=items, now=now, endpoints=[endpoint])
    return endpoint.name


# --- sending --------------------------------------------------------------------------------------------


def _claim(delivery_id: int, now: datetime.datetime) -> WebhookDelivery | None:
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .filter(
                pk=delivery_id, status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING]
            )
            .first()
        )
        if delivery is None or (delivery.next_attempt_at and delivery.next_attempt_at > now):
            return None
        earlier = (
            WebhookDelivery.objects.filter(
                endpoint_id=delivery.endpoint_id,
                object_key=delivery.object_key,
                sequence__lt=delivery.sequence,
                status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING],
                replay_of__isnull=True,
            )
            .order_by("sequence")
            .first()
        )
        if earlier is not None and delivery.replay_of_id is None:
            # Wait behind the object's earlier change (it is sent first, then this one).
            delivery.next_attempt_at = max(earlier.next_attempt_at or now, now) + datetime.timedelta(
                seconds=1
            )
            delivery.save(update_fields=["next_attempt_at"])
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + LEASE
        delivery.last_attempt_at = now
        delivery.save(update_fields=["attempts", "next_attempt_at", "last_attempt_at"])
        return delivery


def _finish(
    delivery: WebhookDelivery, *, ok: bool, now: datetime.datetime, code: int | None, line: str
) -> None:
    delivery.response_code = code
    delivery.status_line = line[:300]
    if ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
            WebhookDelivery.Status.DELIVERED,
            now,
            None,
        )
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.FAILED, None
    else:
        delivery.status = WebhookDelivery.Status.RETRYING
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save(update_fields=["status", "response_code", "status_line", "delivered_at", "next_attempt_at"])


def endpoint_secrets(endpoint: Endpoint, now: datetime.datetime) -> list[str]:
    secrets = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        secrets.append(endpoint.previous_secret)
    return secrets


def delivery_attempt(*, delivery_id: int, now: datetime.datetime | None = None) -> WebhookDelivery | None:
    """Send one due delivery once; safe to call twice (a delivered or leased delivery is left alone)."""
    now = now or timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    endpoint = Endpoint.objects.get(pk=delivery.endpoint_id)
    payload = OutboxEvent.objects.values_list("payload", flat=True).get(pk=delivery.event_id)
    if not endpoint.enabled:
        _finish(delivery, ok=False, now=now, code=None, line="The subscription is disabled.")
        return delivery
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: signature_header(
            secrets=endpoint_secrets(endpoint, now), timestamp=stamp, body=body
        ),
        "X-Cdpcrm-Event": payload.get("type", ""),
        "X-Cdpcrm-Delivery": str(delivery.pk),
        "X-Cdpcrm-Sequence": str(delivery.sequence),
    }
    try:
        response = outbound.request("POST", endpoint.url, body=body, headers=headers, timeout=TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - refused, DNS, connect, TLS, timeout: recorded and retried
        _finish(delivery, ok=False, now=now, code=None, line=outbound.error_line(exc))
        return delivery
    _finish(delivery, ok=response.ok, now=now, code=response.status, line=response.status_line)
    return delivery


def deliveries_due(*, now: datetime.datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING],
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at", "sequence", "id")
        .values_list("pk", flat=True)[:limit]
    )


def deliveries_send_due(*, now: datetime.datetime | None = None) -> int:
    sent = 0
    for delivery_id in deliveries_due(now=now):
        if delivery_attempt(delivery_id=delivery_id, now=now) is not None:
            sent += 1
    return sent


@transaction.atomic
def delivery_replay(*, delivery: WebhookDelivery, user=None) -> WebhookDelivery:
    """Send a delivery again (any status) as a new log entry with the same event."""
    now = timezone.now()
    replay = WebhookDelivery.objects.create(
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        object_key=delivery.object_key,
        sequence=delivery.sequence,
        created_at=now,
        next_attempt_at=now,
        replay_of=delivery,
    )
    _kick()
    return replay


@transaction.atomic
def endpoint_save(
    *,
    endpoint: Endpoint | None = None,
    name: str,
    url: str,
    topics: Iterable[str],
    enabled: bool = True,
    user=None,
) -> Endpoint:
    from django.core.exceptions import ValidationError

    endpoint = endpoint or Endpoint(created_by=user if user is not None and user.is_authenticated else None)
    topics = list(dict.fromkeys(topics))
    bad = [
        t
        for t in topics
        if not (t == "*" or t in TOPICS or (t.endswith(".*") and any(k.startswith(t[:-1]) for k in TOPICS)))
    ]
    if bad:
        raise ValidationError(
            {"topics": [f"Unknown topic {t!r}; use e.g. contact.* or deal.won." for t in bad]}
        )
    endpoint.name, endpoint.url, endpoint.topics, endpoint.enabled = (
        name.strip(),
        url.strip(),
        topics,
        enabled,
    )
    endpoint.full_clean()
    refusal = outbound.url_refusal(endpoint.url)
    if refusal:
        raise ValidationError({"url": [refusal]})
    endpoint.save()
    endpoints_changed()
    return endpoint


@transaction.atomic
def endpoint_secret_rotate(*, endpoint: Endpoint, overlap: datetime.timedelta = ROTATION_OVERLAP) -> Endpoint:
    """A new secret; the old one keeps signing (as a second v1 value) for `overlap`."""
    from .models import _secret

    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + overlap
    endpoint.secret = _secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return endpoint
