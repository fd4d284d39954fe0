"""Writes of the connectors: a verified delivery into the inbox (or the rejected log), secrets, test events."""

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from profiles.ingest.clean import text_clean
from profiles.ingest.inbox import batch_accept, request_info_now
from profiles.models import IngestBatch, Source

from .base import PayloadRejected, SignatureInvalid, WebhookRequest
from .models import OpenCheckout, WebhookDelivery
from .registry import connector_for

logger = logging.getLogger(__name__)

CALLS_PER_BATCH = 1000  # a SendGrid batch of thousands of events becomes several inbox rows
BAD_SIGNATURES_KEPT = 10
BAD_SIGNATURES_TTL = 7 * 24 * 3600
EXCERPT_CHARS = 1000


@dataclass
class Received:
    delivery: WebhookDelivery
    batches: list[IngestBatch]


def _bad_signature_key(source_id: int) -> str:
    return f"cdp:connector:bad-signatures:{source_id}"


def bad_signature_record(*, source: Source, reason: str, client_ip: str | None) -> None:
    """A refused signature is kept in the cache only (the last few, a week): nothing is stored for it."""
    key = _bad_signature_key(source.pk)
    kept = cache.get(key) or []
    kept = [{"at": timezone.now().isoformat(), "reason": reason[:200], "ip": client_ip or ""}, *kept]
    cache.set(key, kept[:BAD_SIGNATURES_KEPT], BAD_SIGNATURES_TTL)


def bad_signatures(*, source: Source) -> list[dict]:
    kept = cache.get(_bad_signature_key(source.pk)) or []
    return [{**item, "at": datetime.fromisoformat(item["at"])} for item in kept]


def _excerpt(body: bytes) -> str:
    return text_clean(body[: EXCERPT_CHARS * 4].decode("utf-8", "replace"))[:EXCERPT_CHARS]


def _rejected(*, source: Source, error: PayloadRejected, body: bytes, test: bool) -> Received:
    delivery = WebhookDelivery.objects.create(
        source=source,
        status=WebhookDelivery.Status.REJECTED,
        topic=text_clean(error.topic)[:100],
        external_id=text_clean(error.external_id)[:255],
        reason=text_clean(error.reason)[:300],
        excerpt=_excerpt(body),
        test=test,
        received_at=timezone.now(),
    )
    Source.objects.filter(pk=source.pk).update(events_rejected=F("events_rejected") + 1)
    return Received(delivery=delivery, batches=[])


def _checkouts_record(*, source: Source, checkouts) -> None:
    """Started checkouts wait for their order (or an update with completed_at); the sweeper abandons the rest.
    Two deliveries of one checkout may race: insert-or-nothing, then the row is locked and brought forward."""
    now = timezone.now()
    for token, started, updated_at, completed in checkouts:
        token = token[:255]
        OpenCheckout.objects.bulk_create(
            [
                OpenCheckout(
                    source=source,
                    token=token,
                    call=started,
                    updated_at=updated_at,
                    completed_at=now if completed else None,
                )
            ],
            ignore_conflicts=True,
        )
        row = OpenCheckout.objects.select_for_update().get(source=source, token=token)
        fields = []
        if completed and row.completed_at is None:
            row.completed_at, fields = now, ["completed_at"]
        if started and (updated_at > row.updated_at or not row.call):
            row.call, row.updated_at = started, updated_at
            fields += ["call", "updated_at"]
        if fields:
            row.save(update_fields=fields)


def webhook_receive(
    *, source: Source, request: WebhookRequest, client_ip: str | None = None, test: bool = False
) -> Received:
    """Verify, map and store one delivery before it is answered. Raises SignatureInvalid (answer 401,
    nothing stored); a payload that cannot be used is recorded as rejected with its reason (answer 2xx).
    A test delivery comes from the source page (a logged-in marketer), not the network: it is not verified."""
    connector = connector_for(source.kind)
    if connector is None:
        raise SignatureInvalid(f"source {source.name!r} is not a connector")
    if not test:
        try:
            connector.verify(source, request)
        except SignatureInvalid as exc:
            bad_signature_record(source=source, reason=str(exc), client_ip=client_ip)
            raise
    try:
        mapped = connector.map(source, request)
        if not mapped.calls and not mapped.checkouts:
            raise PayloadRejected(
                "nothing in it maps to an event", topic=mapped.topic, external_id=mapped.external_id
            )
    except PayloadRejected as exc:
        return _rejected(source=source, error=exc, body=request.body, test=test)
    calls = mapped.calls
    if test:
        for item in calls:
            item.setdefault("context", {})["test"] = True
    with transaction.atomic():
        batches = []
        for start in range(0, len(calls), CALLS_PER_BATCH):
            chunk = calls[start : start + CALLS_PER_BATCH]
            info = request_info_now(
                client_ip=client_ip, user_agent=f"{connector.label} webhook", browser_source=False
            )
            batches.append(
                batch_accept(
                    source=source,
                    kind=IngestBatch.Kind.BATCH,
                    body=json.dumps({"batch": chunk}),
                    event_count=len(chunk),
                    info=info,
                )
            )
        if mapped.checkouts:
            _checkouts_record(source=source, checkouts=mapped.checkouts)
        delivery = WebhookDelivery.objects.create(
            source=source,
            status=WebhookDelivery.Status.ACCEPTED,
            topic=text_clean(mapped.topic)[:100],
            external_id=text_clean(mapped.external_id)[:255],
            event_count=len(calls),
            reason=text_clean(getattr(mapped, "note", ""))[:300],
            batch=batches[0] if batches else None,
            test=test,
            received_at=timezone.now(),
        )
    return Received(delivery=delivery, batches=batches)


def connector_source_saved(sender, instance: Source, **kwargs) -> None:
    """A connector whose secret cdpcrm makes gets it as soon as the source is (or becomes) that kind."""
    connector = connector_for(instance.kind)
    if connector is not None and not connector.secret_from_vendor and not instance.connector_secret:
        instance.connector_secret = secrets.token_urlsafe(24)
        Source.objects.filter(pk=instance.pk, connector_secret="").update(
            connector_secret=instance.connector_secret
        )


def connector_secret_rotate(*, source: Source) -> Source:
    source.connector_secret = secrets.token_urlsafe(24)
    source.save(update_fields=["connector_secret", "updated_at"])
    return source


def connector_secret_set(*, source: Source, secret: str) -> Source:
    """The vendor's secret (Shopify, Stripe) or public key (SendGrid) pasted by a marketer."""
    source.connector_secret = secret.strip()[:255]
    source.save(update_fields=["connector_secret", "updated_at"])
    return source


def connector_test_send(*, source: Source) -> Received:
    """A sample delivery of the vendor through the same mapping and inbox as a real one (marked as a test)."""
    connector = connector_for(source.kind)
    if connector is None:
        raise SignatureInvalid(f"source {source.name!r} is not a connector")
    return webhook_receive(source=source, request=connector.sample(source), test=True)


def carts_abandon(*, now=None, limit: int = 500) -> int:
    """Checkouts not completed within their source's `abandon_after_minutes` (default 60) become a Cart
    Abandoned event through the inbox. Per shop source, due rows are claimed from an index in batches."""
    now = now or timezone.now()
    done = 0
    for source in Source.objects.filter(kind=Source.Kind.SHOPIFY, enabled=True):
        minutes = source.connector_config.get("abandon_after_minutes", 60)
        minutes = max(1, int(minutes)) if isinstance(minutes, int | float) else 60
        with transaction.atomic():
            rows = list(
                OpenCheckout.objects.select_for_update(skip_locked=True)
                .filter(
                    source=source,
                    completed_at__isnull=True,
                    abandoned_at__isnull=True,
                    updated_at__lte=now - timedelta(minutes=minutes),
                )
                .order_by("updated_at")[:limit]
            )
            events = [
                {
                    **row.call,
                    "event": "Cart Abandoned",
                    "messageId": f"shopify-cart-abandoned-{row.token}"[:100],
                    "timestamp": (row.updated_at + timedelta(minutes=minutes)).isoformat(),
                }
                for row in rows
                if row.call
            ]
            if events:
                info = request_info_now(
                    client_ip=None, user_agent="cdpcrm cart abandonment", browser_source=False
                )
                batch_accept(
                    source=source,
                    kind=IngestBatch.Kind.BATCH,
                    body=json.dumps({"batch": events}),
                    event_count=len(events),
                    info=info,
                )
            OpenCheckout.objects.filter(pk__in=[row.pk for row in rows]).update(abandoned_at=now)
            done += len(events)
    return done


CONFIG_NUMBERS = {"abandon_after_minutes": 1, "tolerance_seconds": 1, "loyalty_points_per_unit": 0}
CONFIG_MAPPINGS = ("field_map", "campaign_names")


def connector_config_problems(config) -> list[str]:
    """What is wrong with a connector config (the admin shows each), or nothing."""
    if not isinstance(config, dict):
        return ["The connector config must be a JSON object."]
    problems = []
    for key, minimum in CONFIG_NUMBERS.items():
        value = config.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or value < minimum
        ):
            problems.append(f"{key} must be a number of at least {minimum}.")
    for key in CONFIG_MAPPINGS:
        value = config.get(key)
        if value is not None and (
            not isinstance(value, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        ):
            problems.append(f'{key} must map names to texts, e.g. {{"email": "contact.email"}}.')
    if config.get("network") is not None and not isinstance(config["network"], str):
        problems.append('network must be a text, e.g. "facebook".')
    return problems


def connector_config_set(*, source: Source, config: dict) -> Source:
    problems = connector_config_problems(config)
    if problems:
        raise ValidationError({"connector_config": problems})
    source.connector_config = config
    source.save(update_fields=["connector_config", "updated_at"])
    return source


def connectors_purge(*, older_than_days: int | None = None) -> int:
    """Delivery log rows, and checkouts completed or abandoned, past the inbox's retention period."""
    days = settings.INGEST_BATCH_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    deliveries, _ = WebhookDelivery.objects.filter(received_at__lt=cutoff).delete()
    checkouts, _ = (
        OpenCheckout.objects.filter(updated_at__lt=cutoff)
        .exclude(completed_at__isnull=True, abandoned_at__isnull=True)
        .delete()
    )
    return deliveries + checkouts
