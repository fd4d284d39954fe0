"""Demo journeys (abandoned cart, VIP ticket), their e-mail template and demo mailbox, and a webhook
subscription; idempotent. The demo mailbox has no real server: the cart e-mail step is skipped with that
reason on each path until a marketer connects a mailbox and chooses it in the step."""

from django.db import transaction

from ..webhooks.models import Endpoint
from ..webhooks.services import endpoint_save
from .models import Journey
from .services import journey_publish, journey_save

ABANDONED_CART = {
    "trigger": {"type": "event", "event": "Product Added"},
    "steps": [
        {"id": "wait", "type": "wait", "duration": {"hours": 1}, "next": "ordered"},
        {
            "id": "ordered",
            "type": "branch",
            "label": "Ordered since adding to the cart?",
            "rule": {"event": "Order Completed", "since_enrolment": True},
            "yes": None,
            "no": "remind",
        },
        {"id": "remind", "type": "tag", "tag": "Cart reminder", "next": "email"},
        {"id": "email", "type": "send_email", "template": None, "mailbox": None, "next": "esp"},
        {"id": "esp", "type": "webhook", "endpoint": None, "next": None},
    ],
    "goal": {"event": "Order Completed", "since_enrolment": True},
}
VIP_TICKET = {
    "trigger": {
        "type": "crm",
        "change": "ticket.created",
        "if": {"crm": "loyalty.tier", "op": "in", "value": ["gold", "platinum"]},
    },
    "steps": [
        {
            "id": "call",
            "type": "task",
            "title": "VIP opened a ticket: call within 2 hours",
            "due_hours": 2,
            "next": None,
        }
    ],
}


def demo_load(*, users: dict, stdout) -> None:
    marketer = users.get("marketing")
    with transaction.atomic():
        endpoint = Endpoint.objects.filter(name="E-mail service (demo)").first() or endpoint_save(
            name="E-mail service (demo)",
            url="https://esp.example.invalid/cdpcrm/cart-reminder",
            topics=[],
            user=marketer,
        )
        endpoint_save(
            endpoint=Endpoint.objects.filter(name="Data warehouse (demo)").first(),
            name="Data warehouse (demo)",
            url="https://warehouse.example.invalid/cdpcrm/webhooks",
            topics=["contact.*", "deal.won", "deal.lost", "journey.converted"],
            user=marketer,
        )
        template, mailbox = _demo_mail(marketer)
        cart = {**ABANDONED_CART, "steps": [dict(s) for s in ABANDONED_CART["steps"]]}
        cart["steps"][3].update(template=template.pk, mailbox=mailbox.pk)
        cart["steps"][4]["endpoint"] = endpoint.pk
        made = []
        for name, description, definition in (
            (
                "Abandoned cart",
                "Added a product: wait an hour; if no order since, tag for a reminder, e-mail the cart reminder "
                "and hand it to the e-mail service.",
                cart,
            ),
            (
                "VIP ticket",
                "A Gold or Platinum member opens a ticket: a call task for the contact owner.",
                VIP_TICKET,
            ),
        ):
            existing = Journey.objects.filter(name=name).first()
            journey = journey_save(
                user=marketer,
                journey=existing,
                name=name,
                description=description,
                definition=definition,
                reenrol=Journey.Reenrol.AFTER_DAYS,
                reenrol_days=7,
            )
            if journey.status == Journey.Status.DRAFT:
                journey_publish(journey=journey, user=marketer)
            made.append(journey.name)
        entered = _demo_entries(users)
    stdout.write(
        f"journeys: {', '.join(made)} live ({entered} demo entries); webhook subscriptions: {Endpoint.objects.count()}\n"
    )


def _demo_mail(marketer):
    from contacts.mail.models import EmailTemplate, Mailbox

    template, _ = EmailTemplate.objects.get_or_create(
        name="Your cart is waiting",
        defaults={
            "subject": "You left something in your cart",
            "body": 'Hi {{ contact.first_name|default:"there" }},\n\nyour cart is still waiting for you: '
            "https://shop.modish.example/cart\n\nThe Modish team",
        },
    )
    mailbox = Mailbox.objects.filter(name="Newsletter (demo)").first() or Mailbox.objects.create(
        name="Newsletter (demo)",
        purpose=Mailbox.Purpose.SALES,
        owner=marketer,
        email_address="news@modish-hq.example",
        from_name="Modish",
        smtp_host="smtp.demo.invalid",
        is_demo=True,
    )
    return template, mailbox


def _demo_entries(users: dict) -> int:
    """Put the demo's recent carts into the cart journey (their events are older than the trigger's look-back)
    and open a ticket for a Gold member, so both journeys have profiles on their pages right away."""
    import datetime

    from django.utils import timezone

    from contacts.models import LoyaltyAccount
    from profiles.models import Event
    from tickets.models import Ticket
    from tickets.services import ticket_create

    from .services import live_journeys, profiles_enrol
    from .sweeper import due_steps_process

    now = timezone.now()
    cart = next(j for j in live_journeys() if j["name"] == "Abandoned cart")
    refs = {}
    for profile_id, event_id in (
        Event.objects.filter(
            name="Product Added", timestamp__gte=now - datetime.timedelta(hours=24), profile__isnull=False
        )
        .order_by("timestamp")
        .values_list("profile_id", "pk")
    ):
        refs.setdefault(profile_id, f"event:{event_id}")
    entered = len(profiles_enrol(journey_id=cart["id"], refs=refs, now=now))
    gold = LoyaltyAccount.objects.filter(tier__in=["gold", "platinum"]).select_related("contact").first()
    if (
        gold
        and not Ticket.objects.filter(contact=gold.contact, subject="Where is my order? (demo VIP)").exists()
    ):
        ticket_create(
            user=users.get("support"),
            contact=gold.contact,
            subject="Where is my order? (demo VIP)",
            body="It is late.",
        )
        entered += 1
    due_steps_process(now=now)
    return entered
