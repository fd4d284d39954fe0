"""The "send an e-mail from a template" action, through the CRM's one sending service (contacts.mail).

A step names an e-mail template and the mailbox it goes out from. Consent and unsubscribes were asked by
`actions.run` (segments.consent) before this runs; here each allowed enrolment gets one `message_send` in the
round's transaction: the message, its activity on the contact and its links are stored with the step, and
the delivery is queued after the commit (delivered once, retried by the mail task), so a killed worker
neither loses nor repeats an e-mail. Journey e-mails carry a signed unsubscribe link and List-Unsubscribe.
"""

import datetime

from django.core.exceptions import ValidationError

from contacts.mail.models import EmailTemplate, Mailbox
from contacts.mail.sending import message_send
from profiles.unify.contact import contacts_for_profiles

from .models import StepLog


def template_exists(pk) -> bool:
    return EmailTemplate.objects.filter(pk=pk, is_active=True).exists()


def _sending_mailboxes():
    """Mailboxes with an SMTP server; demo mailboxes too (their steps are skipped with the reason), so the
    demo's journeys can show an e-mail step before anybody connects a real mailbox."""
    return Mailbox.objects.exclude(smtp_host="")


def mailbox_can_send(pk) -> bool:
    return _sending_mailboxes().filter(pk=pk).exists()


def template_choices(*, limit: int) -> list[list]:
    return [
        list(row) for row in EmailTemplate.objects.filter(is_active=True).values_list("pk", "name")[:limit]
    ]


def mailbox_choices(*, limit: int) -> list[list]:
    return [
        [pk, f"{name} <{address}>"]
        for pk, name, address in _sending_mailboxes()
        .order_by("name")
        .values_list("pk", "name", "email_address")[:limit]
    ]


def step_label(step: dict) -> str:
    """ "e-mail <template name>" for the path lines of a send_email step."""
    name = EmailTemplate.objects.filter(pk=step.get("template")).values_list("name", flat=True).first()
    return f"e-mail {name}" if name else "e-mail (the template is gone)"


def emails_send(*, step: dict, runs: list, now: datetime.datetime) -> dict[int, tuple[str, str]]:
    """enrolment id -> (log kind, summary): "Sent e-mail <template>", or skipped with the reason."""
    template = EmailTemplate.objects.filter(pk=step["template"]).first()
    mailbox = Mailbox.objects.filter(pk=step.get("mailbox")).first()
    label = f"e-mail {template.name}" if template else "e-mail"
    problem = None
    if template is None or not template.is_active:
        problem = "the template is gone or inactive"
    elif mailbox is None:
        problem = "the mailbox is gone"
    elif not mailbox.can_send:
        problem = (
            "the mailbox is a demo mailbox (no real server); connect a mailbox and choose it in the step"
            if mailbox.is_demo
            else "the mailbox has no SMTP server"
        )
    if problem:
        return {r.enrolment.pk: (StepLog.Kind.SKIPPED, f"Skipped {label}: {problem}") for r in runs}
    contacts = contacts_for_profiles(profile_ids=[r.enrolment.profile_id for r in runs])
    outcomes = {}
    for run in runs:
        contact = contacts.get(run.enrolment.profile_id)
        if contact is None or not contact.email:
            outcomes[run.enrolment.pk] = (
                StepLog.Kind.SKIPPED,
                f"Skipped {label}: no contact with an e-mail address",
            )
            continue
        try:
            message_send(
                sender=None,
                mailbox=mailbox,
                contact=contact,
                subject=template.subject,
                body=template.body,
                purpose="journey",
                unsubscribe_link=True,
            )
        except ValidationError as error:
            outcomes[run.enrolment.pk] = (
                StepLog.Kind.SKIPPED,
                f"Skipped {label}: {'; '.join(error.messages)[:200]}",
            )
            continue
        outcomes[run.enrolment.pk] = (StepLog.Kind.STEP, f"Sent {label}")
    return outcomes
