"""Celery tasks of the connectors (routed with profiles.* to the `ingest` queue)."""

from celery import shared_task

from .loyalty import loyalty_credit_profiles
from .services import carts_abandon, connectors_purge


@shared_task(name="profiles.connectors.tasks.carts_abandon_task", ignore_result=True)
def carts_abandon_task() -> None:
    """Checkouts left open past their shop's delay become Cart Abandoned events."""
    carts_abandon()


@shared_task(name="profiles.connectors.tasks.loyalty_credit_task", ignore_result=True)
def loyalty_credit_task(profile_ids: list[int]) -> None:
    """Points for the new Order Completed / Order Refunded events of these profiles (once per event)."""
    loyalty_credit_profiles(profile_ids=profile_ids)


@shared_task(name="profiles.connectors.tasks.connectors_purge_task", ignore_result=True)
def connectors_purge_task() -> None:
    """The delivery log and finished checkouts are kept as long as the inbox (INGEST_BATCH_RETENTION_DAYS)."""
    connectors_purge()
