"""The action steps, each run for a group of enrolments inside the round's transaction.

CRM actions call the CRM services (they commit with the step); webhooks, audiences and e-mail write their
outbox rows, which are sent after the commit by their own idempotent senders. Each returns, per enrolment,
the kind of path line (step, skipped, failed) and its text; a refusal by `segments.consent` is "skipped".
"""

import datetime

from django.core.exceptions import ValidationError

from contacts import services as contact_services
from contacts.models import LoyaltyAccount, LoyaltyNote
from profiles.unify.contact import contacts_for_profiles

from ..consent import contact_refusals
from .definition import step_summary
from .models import StepLog

PURPOSE = {
    "send_email": "email",
    "task": "tasks",
    "set_field": "crm",
    "tag": "crm",
    "loyalty_points": "crm",
    "enrol": "journeys",
    "webhook": "webhook",
    "audience": "advertising",
}
NO_CONTACT = "the profile is not linked to a CRM contact"


def _message(error: ValidationError) -> str:
    return "; ".join(error.messages)[:200]


def run(*, step: dict, runs: list, now: datetime.datetime) -> dict[int, tuple[str, str]]:
    """enrolment id -> (log kind, summary) for the action `step` on `runs`."""
    kind = step["type"]
    refused = contact_refusals(profile_ids=[r.enrolment.profile_id for r in runs], purpose=PURPOSE[kind])
    outcomes: dict[int, tuple[str, str]] = {}
    allowed = []
    label = None
    for run_ in runs:
        reason = refused.get(run_.enrolment.profile_id)
        if reason:
            if label is None:
                label = _skip_label(step)
            outcomes[run_.enrolment.pk] = (StepLog.Kind.SKIPPED, f"Skipped {label}: {reason}")
        else:
            allowed.append(run_)
    if allowed:
        outcomes.update(HANDLERS[kind](step, allowed, now))
    return outcomes


def _skip_label(step: dict) -> str:
    if step["type"] == "send_email":
        from .mail import step_label

        return step_label(step)
    return step["type"].replace("_", " ")


def _with_contacts(step: dict, runs: list, handle) -> dict[int, tuple[str, str]]:
    contacts = contacts_for_profiles(profile_ids=[r.enrolment.profile_id for r in runs])
    outcomes = {}
    for run_ in runs:
        contact = contacts.get(run_.enrolment.profile_id)
        if contact is None:
            outcomes[run_.enrolment.pk] = (
                StepLog.Kind.SKIPPED,
                f"Skipped {step_summary(step)}: {NO_CONTACT}",
            )
            continue
        try:
            outcomes[run_.enrolment.pk] = handle(run_, contact)
        except ValidationError as error:
            outcomes[run_.enrolment.pk] = (StepLog.Kind.FAILED, f"Failed: {_message(error)}")
    return outcomes


def _task(step, runs, now):
    def handle(run_, contact):
        contact_services.task_create(
            created_by=None,
            title=step["title"].strip(),
            due_at=now + datetime.timedelta(hours=step.get("due_hours", 24)),
            assignee=contact.owner,
            contact=contact,
            notes=f"Created by a journey step on {now:%Y-%m-%d %H:%M} UTC.",
        )
        owner = contact.owner.get_username() if contact.owner else "nobody (no owner)"
        return StepLog.Kind.STEP, f"Created task “{step['title'].strip()}” for {owner}"

    return _with_contacts(step, runs, handle)


def _set_field(step, runs, now):
    def handle(run_, contact):
        contact_services.contact_update(contact=contact, user=None, **{step["field"]: step["value"]})
        return StepLog.Kind.STEP, f"Set {step['field'].replace('_', ' ')} to “{step['value']}”"

    return _with_contacts(step, runs, handle)


def _tag(step, runs, now):
    name, remove = step["tag"].strip(), step.get("action") == "remove"

    def handle(run_, contact):
        tags = list(contact.tags.all())
        names = {t.name.lower() for t in tags}
        if remove and name.lower() in names:
            contact_services.contact_tags_set(
                contact=contact, user=None, tags=[t for t in tags if t.name.lower() != name.lower()]
            )
        elif not remove and name.lower() not in names:
            contact_services.contact_tags_set(contact=contact, user=None, tags=[*tags, name])
        return StepLog.Kind.STEP, f"{'Removed' if remove else 'Added'} tag “{name}”"

    return _with_contacts(step, runs, handle)


def _loyalty(step, runs, now):
    points = step["points"]
    accounts = {
        a.contact_id: a
        for a in LoyaltyAccount.objects.filter(
            contact_id__in=[
                c.pk
                for c in contacts_for_profiles(profile_ids=[r.enrolment.profile_id for r in runs]).values()
            ]
        )
    }

    def handle(run_, contact):
        account = accounts.get(contact.pk)
        if account is None:
            return StepLog.Kind.SKIPPED, "Skipped loyalty points: the contact is not a loyalty member"
        kind = LoyaltyNote.Kind.EARNED if points > 0 else LoyaltyNote.Kind.ADJUSTED
        try:
            contact_services.loyalty_points_add(
                account=account, user=None, delta=points, kind=kind, text=step.get("reason") or "Journey step"
            )
        except ValidationError as error:
            return StepLog.Kind.SKIPPED, f"Skipped loyalty points: {_message(error)}"
        return StepLog.Kind.STEP, f"{'Added' if points > 0 else 'Removed'} {abs(points)} loyalty points"

    return _with_contacts(step, runs, handle)


def _enrol(step, runs, now):
    from .services import profiles_enrol

    enrolled = profiles_enrol(
        journey_id=step["journey"],
        refs={r.enrolment.profile_id: f"journey:{r.enrolment.pk}:{step['id']}" for r in runs},
        now=now,
    )
    from .models import Journey

    name = Journey.objects.filter(pk=step["journey"]).values_list("name", flat=True).first() or "a journey"
    return {
        r.enrolment.pk: (
            (StepLog.Kind.STEP, f"Enrolled in {name}")
            if r.enrolment.profile_id in enrolled
            else (StepLog.Kind.SKIPPED, f"Not enrolled in {name} (not live, or already in it or done)")
        )
        for r in runs
    }


def _webhook(step, runs, now):
    from ..webhooks.services import endpoint_call

    names = {}
    for r in runs:
        names[r.enrolment.pk] = r
    sent = endpoint_call(
        endpoint_id=step["endpoint"],
        topic="journey.step",
        items=[
            (
                f"journey_enrolment:{r.enrolment.pk}",
                {
                    "journey": {"id": r.enrolment.journey_id, "version": r.enrolment.version_id},
                    "step": step["id"],
                    "enrolment_id": r.enrolment.pk,
                    "profile_id": r.enrolment.profile_id,
                },
            )
            for r in runs
        ],
        now=now,
    )
    if not sent:
        return {
            r.enrolment.pk: (StepLog.Kind.SKIPPED, "Skipped webhook: the endpoint is disabled or gone")
            for r in runs
        }
    return {r.enrolment.pk: (StepLog.Kind.STEP, f"Called webhook {sent}") for r in runs}


def _audience(step, runs, now):
    from ..audiences.services import audience_members_change

    add = step.get("action", "add") != "remove"
    name = audience_members_change(
        destination_id=step["destination"],
        profile_ids=[r.enrolment.profile_id for r in runs],
        add=add,
        now=now,
    )
    if name is None:
        return {
            r.enrolment.pk: (StepLog.Kind.SKIPPED, "Skipped audience: the destination is gone") for r in runs
        }
    verb = "Added to" if add else "Removed from"
    return {r.enrolment.pk: (StepLog.Kind.STEP, f"{verb} audience {name}") for r in runs}


def _send_email(step, runs, now):
    from .mail import emails_send

    return emails_send(step=step, runs=runs, now=now)


HANDLERS = {
    "task": _task,
    "set_field": _set_field,
    "tag": _tag,
    "loyalty_points": _loyalty,
    "enrol": _enrol,
    "webhook": _webhook,
    "audience": _audience,
    "send_email": _send_email,
}
