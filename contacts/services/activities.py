"""Writes of activities and tasks."""

import datetime

from django.db import transaction
from django.utils import timezone

from ..models import Activity, Company, Contact, Task
from ..signals import crm_change_record
from .common import assign_fields, errors_collect, strip_strings

ACTIVITY_FIELDS = frozenset(
    {
        "kind",
        "occurred_at",
        "contact",
        "company",
        "deal_id",
        "subject",
        "body",
        "direction",
        "duration_minutes",
    }
)


TASK_FIELDS = frozenset({"title", "due_at", "assignee", "contact", "company", "deal_id", "notes"})


# One rule for when an activity can have happened, wherever it is logged (contact, company, deal, API): not
# before this day, and not in the future beyond a day's slack (the browser's time zone may be ahead of ours).
ACTIVITY_EARLIEST = datetime.date(2000, 1, 1)
ACTIVITY_FUTURE_SLACK = datetime.timedelta(days=1)


def activity_time_error(occurred_at: datetime.datetime) -> str:
    """Why `occurred_at` cannot be an activity's time, or "" when it can."""
    if occurred_at > timezone.now() + ACTIVITY_FUTURE_SLACK:
        return "An activity that happened cannot be in the future; plan it as a task instead."
    if occurred_at.date() < ACTIVITY_EARLIEST:
        return f"Pick a date from {ACTIVITY_EARLIEST:%-d %b %Y} on."
    return ""


def _activity_save(activity: Activity) -> None:
    """Validate every field at once (what happened, when, on what), then save."""
    extra = {}
    if activity.contact_id is None and activity.company_id is None:
        extra["contact"] = "An activity needs a contact or a company."
    if activity.kind in (Activity.Kind.NOTE,) and not (activity.body or activity.subject):
        extra["body"] = "Write something in the note."
    if activity.kind != Activity.Kind.NOTE and not (activity.subject or activity.body):
        extra["subject"] = "Give a subject or a summary."
    if activity.occurred_at and activity_time_error(activity.occurred_at):
        extra["occurred_at"] = activity_time_error(activity.occurred_at)
    errors_collect(activity, extra=extra)
    activity.save()


@transaction.atomic
def activity_create(
    *,
    author,
    kind: str,
    occurred_at: datetime.datetime | None = None,
    contact: Contact | None = None,
    company: Company | None = None,
    deal_id: int | None = None,
    subject: str = "",
    body: str = "",
    direction: str = "",
    duration_minutes: int | None = None,
) -> Activity:
    activity = Activity(
        kind=kind,
        occurred_at=occurred_at or timezone.now(),
        contact=contact,
        company=company,
        deal_id=deal_id,
        subject=(subject or "").strip(),
        body=(body or "").strip(),
        direction=direction or "",
        duration_minutes=duration_minutes,
        author=author,
    )
    _activity_save(activity)
    crm_change_record(topic="activity.created", instance=activity, contact_ids=[activity.contact_id])
    return activity


@transaction.atomic
def activity_update(*, activity: Activity, user, **fields) -> Activity:
    assign_fields(activity, strip_strings(fields), ACTIVITY_FIELDS)
    _activity_save(activity)
    return activity


@transaction.atomic
def task_create(
    *,
    created_by,
    title: str,
    due_at: datetime.datetime | None = None,
    assignee=None,
    contact: Contact | None = None,
    company: Company | None = None,
    deal_id: int | None = None,
    notes: str = "",
) -> Task:
    task = Task(
        title=(title or "").strip(),
        due_at=due_at,
        assignee=assignee if assignee is not None else created_by,
        contact=contact,
        company=company,
        deal_id=deal_id,
        notes=(notes or "").strip(),
        created_by=created_by,
    )
    task.full_clean()
    task.save()
    return task


@transaction.atomic
def task_update(*, task: Task, user, **fields) -> Task:
    assign_fields(task, strip_strings(fields), TASK_FIELDS)
    task.full_clean()
    task.save()
    return task


@transaction.atomic
def task_complete(*, task: Task, user) -> Task:
    if task.done_at is None:
        task.done_at = timezone.now()
        task.save(update_fields=["done_at"])
    return task


@transaction.atomic
def task_reopen(*, task: Task, user) -> Task:
    if task.done_at is not None:
        task.done_at = None
        task.save(update_fields=["done_at"])
    return task
