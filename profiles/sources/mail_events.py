"""E-mail engagement from contacts.mail into the CDP: opens and clicks become track events of the recipient.

`contacts.mail` announces each open or click (`mail_engaged`, inside its transaction); this receiver stores
one inbox batch through the same durable path as the tracking API (`batch_accept`), so "Email Opened" and
"Email Link Clicked" (Segment's e-mail spec names) count in segments and journeys like any event. The
events come from the built-in source "CRM e-mail". Also: the e-mail addresses the identity graph knows for
a contact, so a mailbox recognises a contact by any of them.
"""

import json

from django.db import IntegrityError, transaction

from ..ingest.inbox import batch_accept, request_info_now
from ..models import Identity, IngestBatch, Source
from .services import source_create

SOURCE_NAME = "CRM e-mail"
EVENT_NAMES = {"open": "Email Opened", "click": "Email Link Clicked"}


def mail_source() -> Source:
    source = Source.objects.filter(name=SOURCE_NAME).first()
    if source is not None:
        return source
    try:
        with transaction.atomic():
            source, _ = source_create(name=SOURCE_NAME, kind=Source.Kind.EMAIL)
            return source
    except IntegrityError:
        return Source.objects.get(name=SOURCE_NAME)


def mail_engaged_received(
    sender, *, kind, engagement_id, occurred_at, recipients, message_id, subject, url="", **kwargs
):
    source = mail_source()
    if not source.enabled:
        return
    events = []
    for position, email in enumerate(dict.fromkeys(r.strip().lower() for r in recipients if r and "@" in r)):
        properties = {"email_id": message_id, "email_subject": subject}
        if url:
            properties["link_url"] = url
        events.append(
            {
                "type": "track",
                "event": EVENT_NAMES[kind],
                "messageId": f"crm-mail-{kind}-{engagement_id}-{position}",
                "timestamp": occurred_at.isoformat(),
                # Known only by e-mail: keyed by it, and resolution links the e-mail identity to the person.
                "anonymousId": email,
                "context": {"traits": {"email": email}, "library": {"name": "cdpcrm-mail", "version": "1"}},
                "properties": properties,
            }
        )
    if not events:
        return
    info = request_info_now(client_ip=None, user_agent="cdpcrm mail tracking", browser_source=False)
    batch_accept(
        source=source,
        kind=IngestBatch.Kind.BATCH,
        body=json.dumps({"batch": events}),
        event_count=len(events),
        info=info,
    )


def contacts_by_identity(emails: set[str]) -> dict[str, int]:
    """{address: contact id} for e-mail identities of live profiles linked to a contact."""
    if not emails:
        return {}
    rows = Identity.objects.filter(
        kind=Identity.Kind.EMAIL,
        value__in=sorted(emails),
        profile__contact__isnull=False,
        profile__merged_into__isnull=True,
    ).values_list("value", "profile__contact_id")
    return {value: contact_id for value, contact_id in rows}
