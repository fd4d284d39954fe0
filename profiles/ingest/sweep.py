"""The ingest sweeper: re-enqueue inbox batches nobody processed, refresh profiles a killed worker left unfolded."""

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import IngestBatch, Profile
from ..signals import profiles_changed
from ..unify.traits import profiles_refresh
from . import store
from .drain import TRANSIENT_ERRORS, drain_enqueue

logger = logging.getLogger(__name__)


def pending_profiles_refresh(*, older_than_seconds: int | None = None, limit: int = 100) -> int:
    """Refresh the profiles that groups processed a while ago left unfolded; returns how many batches.

    A refresh that fails is logged and its list dropped (the hourly recompute repairs those profiles), so
    one bad profile never holds up the ones behind it."""
    age = settings.INGEST_SWEEP_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timedelta(seconds=age)
    done = 0
    for batch_id in (
        IngestBatch.objects.filter(profiles_pending__isnull=False, processed_at__lte=cutoff)
        .order_by("processed_at")
        .values_list("pk", flat=True)[:limit]
    ):
        try:
            with transaction.atomic():
                batch = (
                    IngestBatch.objects.select_for_update(skip_locked=store.concurrent_writers())
                    .filter(pk=batch_id, profiles_pending__isnull=False)
                    .only("id", "profiles_pending")
                    .first()
                )
                if batch is None:
                    continue
                live = profiles_refresh(profile_ids=batch.profiles_pending)
                IngestBatch.objects.filter(pk=batch.pk).update(profiles_pending=None)
        except TRANSIENT_ERRORS:
            raise
        except Exception:
            logger.exception("refreshing the profiles of ingest batch %s failed; dropped", batch_id)
            IngestBatch.objects.filter(pk=batch_id).update(profiles_pending=None)
            continue
        transaction.on_commit(
            partial(profiles_changed.send, sender=Profile, profile_ids=live, merged_profile_ids=[])
        )
        done += 1
    return done


def batches_sweep(*, older_than_seconds: int | None = None, limit: int = 1000) -> int:
    """Re-enqueue inbox batches still unprocessed after a while (lost broker message, killed worker)."""
    age = settings.INGEST_SWEEP_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    now = timezone.now()
    cutoff = now - timedelta(seconds=age)
    stale = list(
        IngestBatch.objects.filter(processed_at__isnull=True, received_at__lte=cutoff)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=cutoff))
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not stale:
        return 0
    IngestBatch.objects.filter(pk__in=stale).update(enqueued_at=now)
    for batch_id in stale:
        drain_enqueue(batch_id)
    return len(stale)
