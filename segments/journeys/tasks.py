"""Celery tasks of journeys (queue "journeys"): the due-step sweep, events arriving, CRM facts changing."""

from celery import shared_task
from django.db import OperationalError
from django.utils.dateparse import parse_datetime

from . import sweeper, triggers


@shared_task(
    name="segments.journeys.tasks.journeys_due_task",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def journeys_due_task() -> None:
    """Beat (every few seconds) and a kick after enrolments: run the due steps."""
    sweeper.due_steps_process()


@shared_task(
    name="segments.journeys.tasks.journeys_events_task",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def journeys_events_task(profile_ids: list[int], events_since: str | None = None) -> None:
    """After an ingest batch: `events_since` is the earliest timestamp of the events it stored (ISO)."""
    triggers.events_arrived(
        profile_ids=profile_ids, events_since=parse_datetime(events_since) if events_since else None
    )


@shared_task(
    name="segments.journeys.tasks.journeys_crm_task",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def journeys_crm_task(contact_ids: list[int]) -> None:
    triggers.crm_facts_changed(contact_ids=contact_ids)


@shared_task(name="segments.journeys.tasks.journeys_step_counts_reconcile_task", ignore_result=True)
def journeys_step_counts_reconcile_task() -> None:
    """Beat (hourly): recount the per-step counters of published journeys (repairs drift)."""
    sweeper.step_counts_reconcile_all()
