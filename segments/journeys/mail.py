"""The "send an e-mail from a template" action, through the CRM's e-mail sending service.

The sending path lives in contacts (templates, unsubscribe, delivery); this module is the one seam the
journey action uses: `template_exists(pk)` for validation and `emails_send(...)` for a group of enrolments.
The mail service registers itself with `mail_backend_register(backend)`; a backend has
`template_exists(pk) -> bool`, `template_name(pk) -> str`, `template_choices() -> [[pk, name], ...]` and
`send(*, template_id, contact, context, idempotency_key) -> str | None` (None when sent or queued in the
caller's transaction; else why not, e.g. "unsubscribed").
"""

import datetime

from profiles.unify.contact import contacts_for_profiles

from .models import StepLog

_BACKENDS: list = []


def mail_backend_register(backend) -> None:
    _BACKENDS[:] = [backend]


def mail_backend():
    return _BACKENDS[0] if _BACKENDS else None


def template_exists(pk) -> bool:
    backend = mail_backend()
    return backend is not None and backend.template_exists(pk)


def emails_send(*, template_id: int, runs: list, now: datetime.datetime) -> dict[int, tuple[str, str]]:
    backend = mail_backend()
    if backend is None:
        return {
            r.enrolment.pk: (StepLog.Kind.SKIPPED, "Skipped e-mail: e-mail sending is not set up")
            for r in runs
        }
    name = backend.template_name(template_id)
    contacts = contacts_for_profiles(profile_ids=[r.enrolment.profile_id for r in runs])
    outcomes = {}
    for run in runs:
        contact = contacts.get(run.enrolment.profile_id)
        if contact is None or not contact.email:
            outcomes[run.enrolment.pk] = (
                StepLog.Kind.SKIPPED,
                "Skipped e-mail: no contact with an e-mail address",
            )
            continue
        refused = backend.send(
            template_id=template_id,
            contact=contact,
            context={"journey_enrolment": run.enrolment.pk},
            idempotency_key=f"journey:{run.enrolment.pk}:{run.enrolment.steps_taken}:{template_id}",
        )
        outcomes[run.enrolment.pk] = (
            (StepLog.Kind.SKIPPED, f"Skipped e-mail {name}: {refused}")
            if refused
            else (StepLog.Kind.STEP, f"Sent e-mail {name}")
        )
    return outcomes
