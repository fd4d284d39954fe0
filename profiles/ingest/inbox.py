"""The durable inbox: store an accepted request as one IngestBatch (its drain queued after the commit), purge old ones."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import IngestBatch, Source
from .clean import text_clean
from .drain import drain_enqueue
from .normalize import RequestInfo


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
