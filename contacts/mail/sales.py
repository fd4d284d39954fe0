"""The sales mailbox: mail from or to a known contact is logged on the contact, its company and open deals.

Mail where nobody known takes part is not fetched beyond its headers and not stored. Colleagues
(the mailbox's internal domains) and the mailbox itself never count as participants.
"""

from django.db.models.functions import Lower

from contacts.models import Activity, Contact

from .models import MailMessage, MessageLink
from .registry import CONTACT_RESOLVERS, deals_for_contacts
from .store import messages_create, snippet


def contacts_for_emails(emails: set[str]) -> dict[str, int]:
    """{address: contact id} for every address a contact is known by: Contact.email and the resolvers'."""
    found: dict[str, int] = {}
    if not emails:
        return found
    # lower(email) with the "set" condition: the query the contact_email_unique_ci_when_set index serves.
    matches = (
        Contact.objects.exclude(email="")
        .annotate(email_lower=Lower("email"))
        .filter(email_lower__in=sorted(emails))
        .values_list("email_lower", "pk")
    )
    for email, contact_id in matches:
        found[email] = contact_id
    for resolver in CONTACT_RESOLVERS:
        for email, contact_id in resolver(emails - set(found)).items():
            found.setdefault(email, contact_id)
    return found


def _domain(address: str) -> str:
    return address.rpartition("@")[2]


class SalesHandler:
    def plan(self, *, mailbox, folder, headers: list) -> dict[int, list[int]]:
        """{uid: contact ids} of the messages to fetch and log (new, with at least one known contact)."""
        own = mailbox.email_address.lower()
        internal = set(mailbox.internal_domain_list)
        outside = {
            h.uid: [a for a in h.participants if a != own and _domain(a) not in internal] for h in headers
        }
        known = contacts_for_emails({a for addresses in outside.values() for a in addresses})
        if not known:
            return {}
        ids = sorted({h.message_id for h in headers})
        logged = set(
            MailMessage.objects.filter(message_id__in=ids, mailbox__purpose=mailbox.purpose).values_list(
                "message_id", flat=True
            )
        )
        plan: dict[int, list[int]] = {}
        for h in headers:
            contact_ids = sorted({known[a] for a in outside[h.uid] if a in known})
            if contact_ids and h.message_id not in logged:
                logged.add(h.message_id)  # the same message twice in one batch (sent to oneself)
                plan[h.uid] = contact_ids
        return plan

    def store(self, *, mailbox, folder, mails: list, plan: dict[int, list[int]]) -> None:
        body_kept = mailbox.privacy == mailbox.Privacy.BODY
        messages = messages_create(mailbox=mailbox, folder=folder, mails=mails, body_kept=body_kept)
        contact_ids = sorted({cid for m in mails for cid in plan[m.headers.uid]})
        companies = dict(Contact.objects.filter(pk__in=contact_ids).values_list("pk", "company_id"))
        deals = deals_for_contacts(companies)
        pairs = []
        for message in messages:
            for contact_id in plan[message.uid]:
                if contact_id not in companies:
                    continue  # deleted since the plan was made
                activity = Activity(
                    kind=Activity.Kind.EMAIL,
                    subject=(message.subject or "(no subject)")[:200],
                    body=snippet(message.body_text) if body_kept else "",
                    direction=Activity.Direction.OUTBOUND
                    if message.direction == MailMessage.Direction.OUTBOUND
                    else Activity.Direction.INBOUND,
                    occurred_at=message.sent_at,
                    contact_id=contact_id,
                    company_id=companies[contact_id],
                    author_id=mailbox.owner_id,
                )
                pairs.append((message, contact_id, activity))
        Activity.objects.bulk_create([activity for _, _, activity in pairs])
        links = []
        for message, contact_id, activity in pairs:
            links.append(MessageLink(message=message, contact_id=contact_id, activity=activity))
        seen: set[tuple[int, int]] = set()
        for message, contact_id, _ in pairs:
            for deal_id in deals.get(contact_id, []):
                if (message.pk, deal_id) not in seen:
                    seen.add((message.pk, deal_id))
                    links.append(MessageLink(message=message, contact_id=contact_id, deal_id=deal_id))
        MessageLink.objects.bulk_create(links)
