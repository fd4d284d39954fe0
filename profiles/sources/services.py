"""Writes of the CDP ingestion: sources and keys, accepting requests into the inbox (drained in drain.py)."""

import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..ingest.clean import text_clean
from ..ingest.drain import drain_enqueue
from ..ingest.normalize import RequestInfo
from ..models import IngestBatch, Source
from .selectors import write_key_digest

WRITE_KEY_PREFIX_LENGTH = 8


def _new_write_key() -> str:
    return secrets.token_urlsafe(24)


@transaction.atomic
def source_create(*, name: str, kind: str) -> tuple[Source, str]:
    """A new source and its write key; the key is returned once and only its hash is kept."""
    write_key = _new_write_key()
    source = Source(
        name=name.strip(),
        kind=kind,
        write_key_hash=write_key_digest(write_key),
        write_key_prefix=write_key[:WRITE_KEY_PREFIX_LENGTH],
        public_write_key=write_key if kind == Source.Kind.WEBSITE else "",
    )
    source.full_clean()
    source.save()
    return source, write_key


@transaction.atomic
def source_rotate_key(*, source: Source) -> str:
    """Replace the write key; the old key stops working at once."""
    write_key = _new_write_key()
    source.write_key_hash = write_key_digest(write_key)
    source.write_key_prefix = write_key[:WRITE_KEY_PREFIX_LENGTH]
    source.key_rotated_at = timezone.now()
    source.public_write_key = write_key if source.is_browser else ""
    source.save(
        update_fields=[
            "write_key_hash",
            "write_key_prefix",
            "public_write_key",
            "key_rotated_at",
            "updated_at",
        ]
    )
    return write_key


def source_update(
    *, source: Source, name: str | None = None, kind: str | None = None, enabled: bool | None = None
) -> Source:
    for field_name, value in (("name", name), ("kind", kind), ("enabled", enabled)):
        if value is not None:
            setattr(source, field_name, value.strip() if isinstance(value, str) else value)
    if not source.is_browser:
        source.public_write_key = ""  # no longer a website: its key is a secret again
    source.full_clean(exclude=["write_key_hash"])
    source.save(update_fields=["name", "kind", "enabled", "public_write_key", "updated_at"])
    return source


def source_set_enabled(*, source: Source, enabled: bool) -> Source:
    source.enabled = enabled
    source.save(update_fields=["enabled", "updated_at"])
    return source


def batch_accept(*, source: Source, kind: str, body: str, event_count: int, info: RequestInfo) -> IngestBatch:
    """Store one accepted request in the durable inbox; processing is enqueued after the commit.

    Outside a transaction the INSERT commits by itself (one round trip) and the enqueue follows at once.
    """
    batch = IngestBatch.objects.create(
        source=source,
        kind=kind,
        body=body,
        request_id=info.request_id,
        received_at=info.received_at,
        client_ip=info.client_ip,
        user_agent=text_clean(info.user_agent)[:512],
        event_count=event_count,
        enqueued_at=info.received_at,
    )
    transaction.on_commit(lambda: drain_enqueue(batch.pk, source.pk))
    return batch


def batches_purge(*, older_than_days: int | None = None) -> int:
    """Delete processed inbox batches (and their rejected-event rows) past the retention period."""
    days = settings.INGEST_BATCH_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    _, per_model = IngestBatch.objects.filter(processed_at__lt=cutoff).delete()
    return per_model.get(IngestBatch._meta.label, 0)


def request_info_now(
    *, client_ip: str | None, user_agent: str, browser_source: bool, request_id: str | None = None
) -> RequestInfo:
    return RequestInfo(
        received_at=timezone.now(),
        request_id=request_id or uuid.uuid4().hex,
        client_ip=client_ip,
        user_agent=user_agent,
        browser_source=browser_source,
    )
