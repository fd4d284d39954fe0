"""Listeners: processed batches may hold order events that earn (or take back) loyalty points."""


def profiles_changed_received(sender, profile_ids, **kwargs) -> None:
    from .tasks import loyalty_credit_task

    ids = sorted({int(pid) for pid in profile_ids})
    if ids:
        loyalty_credit_task.delay(ids)
