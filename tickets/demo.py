"""Demo tickets for `manage.py demo`: teams, tickets in every status/priority/channel, threads, breaches.

Deterministic (seeded random) and idempotent: each demo ticket is keyed by the Message-ID of its first
message, so a second run adds nothing. Rows are bulk-inserted with SLA times computed by tickets.sla.
"""

import datetime
import random

from django.db import transaction
from django.utils import timezone

from contacts.models import Contact, Tag
from contacts.services import contact_create

from .models import PAUSED_STATUSES, Channel, Priority, Status, Team, Ticket, TicketEvent, TicketMessage
from .sla import sla_targets

TICKET_COUNT = 60
TEAMS = (
    ("General support", "Questions about products, accounts and the website"),
    ("Billing", "Payments, refunds and invoices"),
    ("Returns & exchanges", "Returns, exchanges and damaged deliveries"),
)
REQUESTS = (
    (
        "Order hasn't arrived yet",
        "I ordered ten days ago and the tracking hasn't moved since Monday.",
        "delivery",
        0,
    ),
    (
        "Refund not received",
        "I returned the jacket three weeks ago and I still don't see the refund.",
        "refund",
        1,
    ),
    ("Wrong size delivered", "I ordered the dress in M but received an L. Can I exchange it?", "exchange", 2),
    ("Charged twice for one order", "My card statement shows two charges of the same amount.", "billing", 1),
    ("Item arrived damaged", "The heel of one shoe came off on the first day.", "damaged", 2),
    ("Can't log into my account", "The password reset email never arrives.", "account", 0),
    (
        "Loyalty points missing",
        "My last purchase didn't add any points to my Style Rewards balance.",
        "loyalty",
        0,
    ),
    (
        "Discount code doesn't work",
        "The code from your newsletter says it's expired but the email says it's valid.",
        "promo",
        1,
    ),
    ("Change delivery address", "I moved last week; can you send my order to my new address?", "delivery", 0),
    ("Invoice for my company", "I need a VAT invoice with our company details for order 1042.", "billing", 1),
    ("Return label not working", "The prepaid label link shows an error.", "return", 2),
    ("Question about fabric care", "Can the wool coat go in the washing machine?", "product", 0),
)
AGENT_REPLIES = (
    "Thanks for reaching out! I'm looking into this now and will get back to you shortly.",
    "Sorry about that. Could you send us your order number so we can check?",
    "I've escalated this to our warehouse team; you'll hear from us within a day.",
    "Good news: this is sorted. Let us know if anything else comes up.",
)
INTERNAL_NOTES = (
    "Checked the carrier portal: parcel stuck at the hub since Tuesday.",
    "Long-time customer — offer a goodwill voucher if this drags on.",
    "Finance confirmed the refund went out yesterday.",
)
CUSTOMER_FOLLOW_UPS = ("Thanks, here is the order number: 1042.", "Any update on this?", "Great, thank you!")
# (status, weight)
STATUS_MIX = (
    (Status.NEW, 10),
    (Status.OPEN, 16),
    (Status.PENDING, 8),
    (Status.ON_HOLD, 4),
    (Status.SOLVED, 14),
    (Status.CLOSED, 8),
)
PRIORITY_MIX = ((Priority.LOW, 3), (Priority.NORMAL, 6), (Priority.HIGH, 3), (Priority.URGENT, 1))
CHANNEL_MIX = (
    (Channel.EMAIL, 8),
    (Channel.WEB, 4),
    (Channel.PHONE, 3),
    (Channel.CHAT, 3),
    (Channel.SOCIAL, 1),
    (Channel.IN_PERSON, 1),
)


def _pick(rng: random.Random, mix):
    values, weights = zip(*mix, strict=True)
    return rng.choices(values, weights=weights)[0]


def _demo_message_id(index: int) -> str:
    return f"demo-ticket-{index}@modish.example"


def _customers(*, needed: int) -> list[Contact]:
    contacts = list(Contact.objects.exclude(email="").order_by("id")[:needed])
    for i in range(len(contacts), min(needed, 12)):
        email = f"support.customer{i}@modish.example"
        contact = Contact.objects.filter(email__iexact=email).first()
        contacts.append(
            contact or contact_create(user=None, email=email, first_name="Demo", last_name=f"Customer {i}")
        )
    return contacts


@transaction.atomic
def demo_load(*, users, stdout) -> None:
    rng = random.Random(4)  # noqa: S311 - demo data
    wanted = {_demo_message_id(i) for i in range(TICKET_COUNT)}
    existing = set(
        TicketMessage.objects.filter(email_message_id__in=wanted).values_list("email_message_id", flat=True)
    )
    if len(existing) == TICKET_COUNT:
        stdout.write("tickets: demo tickets already present")
        return
    teams = [Team.objects.get_or_create(name=name, defaults={"description": desc})[0] for name, desc in TEAMS]
    agents = [users["support"], users["support2"]]
    customers = _customers(needed=40)
    targets = {p: sla_targets(priority=p) for p in Priority.values}
    now = timezone.now().replace(second=0, microsecond=0)

    plans = []
    for index in range(TICKET_COUNT):
        subject, body, tag, team_index = REQUESTS[index % len(REQUESTS)]
        status = _pick(rng, STATUS_MIX)
        priority = _pick(rng, PRIORITY_MIX)
        channel = _pick(rng, CHANNEL_MIX)
        contact = customers[index % len(customers)]
        assignee = None if status == Status.NEW else agents[index % 2]
        plans.append(
            (index, subject, body, tag, teams[team_index], status, priority, channel, contact, assignee)
        )
    plans = [plan for plan in plans if _demo_message_id(plan[0]) not in existing]

    tickets, thread_specs = [], []
    for index, subject, body, tag, team, status, priority, channel, contact, assignee in plans:
        first_minutes, resolution_minutes = targets[priority]
        late = index % 6 == 0  # one ticket in six misses its targets
        if status in (Status.SOLVED, Status.CLOSED):
            age_minutes = rng.randint(resolution_minutes * 2, max(resolution_minutes * 2, 20 * 24 * 60) + 60)
        elif late:
            age_minutes = rng.randint(int(resolution_minutes * 1.1), int(resolution_minutes * 2))
        elif status == Status.NEW:
            age_minutes = rng.randint(5, max(6, int(first_minutes * 0.9)))
        else:
            age_minutes = rng.randint(first_minutes, max(first_minutes + 1, int(resolution_minutes * 0.8)))
        created = now - datetime.timedelta(minutes=age_minutes)
        replied = status != Status.NEW
        reply_factor = rng.uniform(1.1, 1.6) if late else rng.uniform(0.1, 0.9)
        first_reply = min(created + datetime.timedelta(minutes=first_minutes * reply_factor), now)
        ticket = Ticket(
            subject=subject,
            contact=contact,
            company_id=contact.company_id,
            status=status,
            priority=priority,
            channel=channel,
            team=team,
            assignee=assignee,
            created_at=created,
            first_response_due_at=created + datetime.timedelta(minutes=first_minutes),
            resolution_due_at=created + datetime.timedelta(minutes=resolution_minutes),
            first_responded_at=first_reply if replied else None,
        )
        if status in PAUSED_STATUSES:
            ticket.paused_at = first_reply + (now - first_reply) * rng.uniform(0.2, 0.8)
        if status in (Status.SOLVED, Status.CLOSED):
            solve_factor = rng.uniform(1.1, 1.5) if late else rng.uniform(0.2, 0.9)
            ticket.solved_at = min(
                max(
                    created + datetime.timedelta(minutes=resolution_minutes * solve_factor),
                    first_reply + datetime.timedelta(minutes=10),
                ),
                now,
            )
            if status == Status.SOLVED and rng.random() < 0.5 or status == Status.CLOSED:
                ticket.satisfaction_rating = rng.choice((3, 4, 5, 5, 5, 2))
        tickets.append(ticket)
        thread_specs.append((index, body, tag, replied, first_reply))
    Ticket.objects.bulk_create(tickets)

    messages, events, tag_links = [], [], []
    tags = {name: Tag.objects.get_or_create(name=name)[0] for name in {spec[2] for spec in thread_specs}}
    for ticket, (index, body, tag, replied, first_reply) in zip(tickets, thread_specs, strict=True):
        messages.append(
            TicketMessage(
                ticket=ticket,
                author_contact=ticket.contact,
                body=body,
                channel=ticket.channel,
                created_at=ticket.created_at,
                email_message_id=_demo_message_id(index),
            )
        )
        events.append(
            TicketEvent(
                ticket=ticket, field=TicketEvent.Field.CREATED, to_value="New", created_at=ticket.created_at
            )
        )
        tag_links.append(Ticket.tags.through(ticket_id=ticket.pk, tag_id=tags[tag].pk))
        if ticket.assignee_id:
            events.append(
                TicketEvent(
                    ticket=ticket,
                    actor=ticket.assignee,
                    field=TicketEvent.Field.ASSIGNEE,
                    from_value="Unassigned",
                    to_value=ticket.assignee.get_full_name() or ticket.assignee.username,
                    created_at=ticket.created_at + datetime.timedelta(minutes=2),
                )
            )
        if index % 3 == 0 and ticket.assignee_id:
            messages.append(
                TicketMessage(
                    ticket=ticket,
                    internal=True,
                    author_user=ticket.assignee,
                    body=INTERNAL_NOTES[(index // 3) % len(INTERNAL_NOTES)],
                    channel=ticket.channel,
                    created_at=ticket.created_at + datetime.timedelta(minutes=3),
                )
            )
        if replied:
            messages.append(
                TicketMessage(
                    ticket=ticket,
                    author_user=ticket.assignee,
                    body=AGENT_REPLIES[index % len(AGENT_REPLIES)],
                    channel=ticket.channel,
                    created_at=first_reply,
                    email_sent_at=first_reply,
                    email_message_id=f"demo-reply-{index}@modish.example",
                )
            )
            if index % 2 == 0:
                messages.append(
                    TicketMessage(
                        ticket=ticket,
                        author_contact=ticket.contact,
                        body=CUSTOMER_FOLLOW_UPS[index % len(CUSTOMER_FOLLOW_UPS)],
                        channel=ticket.channel,
                        created_at=min(first_reply + datetime.timedelta(minutes=30), now),
                    )
                )
        if ticket.assignee_id:
            events.append(
                TicketEvent(
                    ticket=ticket,
                    actor=ticket.assignee,
                    field=TicketEvent.Field.STATUS,
                    from_value="New",
                    to_value="Open",
                    created_at=ticket.created_at + datetime.timedelta(minutes=2),
                )
            )
        if ticket.status not in (Status.NEW, Status.OPEN):
            events.append(
                TicketEvent(
                    ticket=ticket,
                    actor=ticket.assignee,
                    field=TicketEvent.Field.STATUS,
                    from_value="Open",
                    to_value=ticket.get_status_display(),
                    created_at=ticket.solved_at
                    or ticket.paused_at
                    or ticket.created_at + datetime.timedelta(minutes=4),
                )
            )
    TicketMessage.objects.bulk_create(messages)
    last_activity = {}
    for message in messages:
        last_activity[message.ticket_id] = max(
            last_activity.get(message.ticket_id, message.created_at), message.created_at
        )
    for ticket in tickets:
        ticket.updated_at = max(filter(None, [last_activity[ticket.pk], ticket.solved_at, ticket.paused_at]))
    Ticket.objects.bulk_update(tickets, ["updated_at"])
    TicketEvent.objects.bulk_create(events)
    Ticket.tags.through.objects.bulk_create(tag_links, ignore_conflicts=True)
    stdout.write(f"tickets: {len(tickets)} tickets in {len(teams)} teams with {len(messages)} messages")
