"""Celery tasks of outbound webhooks (queue "activation"): send after commit, sweep due, poll merges."""

from celery import shared_task

from . import receivers, services


@shared_task(name="segments.webhooks.tasks.webhooks_send_task", ignore_result=True)
def webhooks_send_task() -> None:
    services.deliveries_send_due()


@shared_task(name="segments.webhooks.tasks.webhooks_sweep_task", ignore_result=True)
def webhooks_sweep_task() -> None:
    """Beat: record merges from the ledger, then send whatever is due (retries, lost messages, leases)."""
    receivers.merges_poll()
    services.deliveries_send_due()
