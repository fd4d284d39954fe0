"""Celery tasks of segments: evaluation on the "segments" queue, deliveries on the "activation" queue."""

from celery import shared_task
from django.db import OperationalError

from . import activation, services


@shared_task(
    name="segments.tasks.segment_recompute_task",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def segment_recompute_task(segment_id: int) -> None:
    services.segment_recompute(segment_id=segment_id)


@shared_task(name="segments.tasks.segment_recompute_all_task", ignore_result=True)
def segment_recompute_all_task() -> None:
    services.segments_recompute_all()


@shared_task(
    name="segments.tasks.segment_profiles_changed_task",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def segment_profiles_changed_task(profile_ids: list[int], facts: list[str]) -> None:
    services.segments_profiles_recheck(profile_ids=profile_ids, facts=set(facts))


@shared_task(
    name="segments.tasks.segment_crm_changed_task",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def segment_crm_changed_task(contact_ids: list[int], fact: str) -> None:
    from profiles.unify.contact import profile_ids_for_contacts

    profile_ids = profile_ids_for_contacts(contact_ids=contact_ids)
    services.segments_profiles_recheck(profile_ids=profile_ids, facts={fact})


@shared_task(
    name="segments.tasks.segment_window_recheck_task",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def segment_window_recheck_task(segment_id: int, profile_ids: list[int]) -> None:
    """Re-check profiles whose window passed. Nothing schedules it any more (expiries are WindowExpiry rows);
    it stays registered so eta messages queued by an earlier version still run after an upgrade."""
    changed = services.segment_profiles_recheck(segment_id=segment_id, profile_ids=profile_ids)
    if changed:
        services.segments_profiles_recheck(profile_ids=changed, facts={f"segment:{segment_id}"})


@shared_task(name="segments.tasks.segment_windows_schedule_task", ignore_result=True)
def segment_windows_schedule_task() -> None:
    """Half-hourly: write the window expiries of the next hour (the name is kept for existing beat setups)."""
    services.segments_windows_plan()


@shared_task(
    name="segments.tasks.segment_windows_due_task",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def segment_windows_due_task() -> None:
    """Every few seconds: re-check the profiles whose window just passed."""
    services.window_expiries_process()


@shared_task(name="segments.tasks.destination_deliver_task", ignore_result=True)
def destination_deliver_task(delivery_id: int) -> None:
    delivery = activation.delivery_attempt(delivery_id=delivery_id)
    _schedule_retry(delivery)


@shared_task(name="segments.tasks.destination_deliver_many_task", ignore_result=True)
def destination_deliver_many_task(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        _schedule_retry(activation.delivery_attempt(delivery_id=delivery_id))


@shared_task(name="segments.tasks.destination_deliveries_due_task", ignore_result=True)
def destination_deliveries_due_task() -> None:
    """Periodic sweep: sends what is due (retries, lost messages, expired leases)."""
    for delivery_id in activation.deliveries_due():
        activation.delivery_attempt(delivery_id=delivery_id)


def _schedule_retry(delivery) -> None:
    from celery import current_app as app

    if delivery is None or delivery.status != "retrying" or app.conf.task_always_eager:
        return  # in eager mode the periodic sweep (`manage.py periodic`, every minute) sends retries
    destination_deliver_task.apply_async(args=[delivery.pk], eta=delivery.next_attempt_at)
