"""Listeners: processed batches may hold order events that earn (or take back) loyalty points."""

import logging

logger = logging.getLogger(__name__)


def profiles_changed_received(sender, profile_ids, **kwargs) -> None:
    """Enqueue the loyalty credit; never raises, so a failure here cannot fail the batch that was stored
    (uncredited events are credited the next time their profile changes, within 30 days)."""
    ids = sorted({int(pid) for pid in profile_ids})
    if not ids:
        return
    try:
        from .tasks import loyalty_credit_task

        loyalty_credit_task.delay(ids)
    except Exception:
        logger.exception("loyalty credit for %d profiles could not be queued or run", len(ids))
