"""Sending deliveries: signed webhooks with exponential backoff for a day, CRM tasks and contact tags.

A delivery is claimed (attempts + 1, a lease on next_attempt_at) in a short transaction, sent outside it,
and its outcome recorded; a periodic sweep re-sends due deliveries, so a lost message or a dead worker
loses nothing and a receiver that is down gets everything once it is back.
"""

import datetime
import hashlib
import hmac
import json
import time

from django.db import transaction
from django.utils import timezone

from common import outbound
from contacts import services as contact_services
from profiles.unify.contact import contacts_for_profiles

from .consent import contact_refusals
from .models import Delivery, Destination

MAX_ATTEMPTS = 14  # 1, 2, 4, ... 128 minutes, then every 4 hours: the last attempt is about a day later
LEASE = datetime.timedelta(minutes=5)
TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-Cdpcrm-Signature"
TIMESTAMP_HEADER = "X-Cdpcrm-Timestamp"


def backoff(attempts: int) -> datetime.timedelta:
    """The wait after the `attempts`-th failed attempt."""
    return datetime.timedelta(minutes=min(2 ** (attempts - 1), 240))


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex; receivers recompute it and compare in constant time."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def _claim(delivery_id: int, now: datetime.datetime) -> Delivery | None:
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .select_related("destination__segment")
            .filter(pk=delivery_id, status__in=[Delivery.Status.PENDING, Delivery.Status.RETRYING])
            .first()
        )
        if delivery is None or (delivery.next_attempt_at and delivery.next_attempt_at > now):
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + LEASE
        delivery.save(update_fields=["attempts", "next_attempt_at"])
        return delivery


def _finish(
    delivery: Delivery, *, status: str, now: datetime.datetime, code: int | None = None, error: str = ""
):
    delivery.status = status
    delivery.response_code = code
    delivery.last_error = error[:500]
    if status == Delivery.Status.DELIVERED:
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif status == Delivery.Status.RETRYING:
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = Delivery.Status.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
    else:
        delivery.next_attempt_at = None
    delivery.save(update_fields=["status", "response_code", "last_error", "delivered_at", "next_attempt_at"])


def _send_webhook(delivery: Delivery, now: datetime.datetime) -> None:
    destination = delivery.destination
    body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "cdpcrm-segments/1",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: webhook_signature(secret=destination.secret, timestamp=stamp, body=body),
        "X-Cdpcrm-Delivery": str(delivery.pk),
        "X-Cdpcrm-Sequence": str(delivery.sequence),
    }
    try:
        # The SSRF guard: private/loopback/link-local hosts only when an admin allowed them.
        response = outbound.request(
            "POST", destination.url, body=body, headers=headers, timeout=TIMEOUT_SECONDS
        )
    except Exception as exc:  # noqa: BLE001 - refused, DNS, connect, TLS, timeout: recorded and retried
        _finish(delivery, status=Delivery.Status.RETRYING, now=now, error=outbound.error_line(exc))
        return
    if response.ok:
        _finish(delivery, status=Delivery.Status.DELIVERED, now=now, code=response.status)
    else:
        # Only the status line: a response body may hold internal data the receiver should not leak.
        _finish(
            delivery,
            status=Delivery.Status.RETRYING,
            now=now,
            code=response.status,
            error=response.status_line,
        )


@transaction.atomic
def _apply_crm(delivery: Delivery, now: datetime.datetime) -> None:
    destination = delivery.destination
    contact = contacts_for_profiles(profile_ids=[delivery.profile_id]).get(delivery.profile_id)
    if contact is None:
        _finish(
            delivery,
            status=Delivery.Status.SKIPPED,
            now=now,
            error="The profile is not linked to a CRM contact.",
        )
        return
    if destination.kind == Destination.Kind.CRM_TASK:
        contact_services.task_create(
            created_by=None,
            title=destination.task_title,
            due_at=now + datetime.timedelta(hours=destination.task_due_hours),
            assignee=contact.owner,
            contact=contact,
            notes=f"Segment “{destination.segment.name}”: {delivery.get_trigger_display().lower()} on "
            f"{now:%Y-%m-%d %H:%M} UTC.",
        )
    else:
        tags = list(contact.tags.all())
        names = {t.name.lower() for t in tags}
        if destination.tag_action == Destination.TagAction.ADD and destination.tag_name.lower() not in names:
            contact_services.contact_tags_set(contact=contact, user=None, tags=[*tags, destination.tag_name])
        elif destination.tag_action == Destination.TagAction.REMOVE and destination.tag_name.lower() in names:
            keep = [t for t in tags if t.name.lower() != destination.tag_name.lower()]
            contact_services.contact_tags_set(contact=contact, user=None, tags=keep)
    _finish(delivery, status=Delivery.Status.DELIVERED, now=now)


def delivery_attempt(*, delivery_id: int, now: datetime.datetime | None = None) -> Delivery | None:
    """Send one due delivery once; safe to call twice (a delivered or leased delivery is left alone)."""
    now = now or timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    kind = delivery.destination.kind
    purpose = "webhook" if kind == Destination.Kind.WEBHOOK else "crm"
    refused = (
        contact_refusals(profile_ids=[delivery.profile_id], purpose=purpose) if delivery.profile_id else {}
    )
    if not delivery.destination.enabled:
        _finish(delivery, status=Delivery.Status.SKIPPED, now=now, error="The destination is disabled.")
    elif refused:
        _finish(delivery, status=Delivery.Status.SKIPPED, now=now, error=refused[delivery.profile_id])
    elif kind == Destination.Kind.WEBHOOK:
        _send_webhook(delivery, now)
    else:
        try:
            _apply_crm(delivery, now)
        except Exception as exc:  # noqa: BLE001 - recorded on the delivery and retried
            _finish(delivery, status=Delivery.Status.RETRYING, now=now, error=f"{type(exc).__name__}: {exc}")
    return delivery


def deliveries_due(*, now: datetime.datetime | None = None, limit: int = 500) -> list[int]:
    """Ids of deliveries waiting for an attempt (new, retrying, or whose lease ran out)."""
    now = now or timezone.now()
    return list(
        Delivery.objects.filter(
            status__in=[Delivery.Status.PENDING, Delivery.Status.RETRYING], next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


@transaction.atomic
def delivery_replay(*, delivery: Delivery, user) -> Delivery:
    """Send a delivery again (any status) as a new log entry with the same payload."""
    now = timezone.now()
    replay = Delivery.objects.create(
        destination=delivery.destination,
        profile_id=delivery.profile_id,
        trigger=delivery.trigger,
        sequence=delivery.sequence,
        payload=delivery.payload,
        created_at=now,
        next_attempt_at=now,
    )
    from .tasks import destination_deliver_task

    transaction.on_commit(lambda: destination_deliver_task.delay(replay.pk))
    return replay
