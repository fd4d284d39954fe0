"""Demo segments for Modish, plus a little recent activity sent through the real tracking pipeline so the
time-windowed segments have members right after `manage.py demo` (idempotent: fixed messageIds)."""

import json
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from contacts.models import Contact
from pipeline.models import Deal, Stage
from profiles.ingest.inbox import batch_accept, request_info_now
from profiles.models import Source

from .models import Destination, Segment
from .services import segment_save

DEMO_SEGMENTS = (
    (
        "Abandoned cart, last 24h",
        "Added a product in the last day and did not order since.",
        {
            "all": [
                {"event": "Product Added", "within": {"hours": 24}},
                {"not": {"event": "Order Completed", "within": {"hours": 24}}},
            ]
        },
    ),
    (
        "Gold+ with an open ticket",
        "Our best loyalty members while they wait on support.",
        {
            "all": [
                {"crm": "loyalty.tier", "op": "in", "value": ["gold", "platinum"]},
                {"crm": "ticket.open", "op": "eq", "value": True},
            ]
        },
    ),
    (
        "Opened emails, no purchase in 30 days",
        "Engaged with campaigns but not buying: a win-back audience.",
        {
            "all": [
                {"event": "Email Opened", "within": {"days": 30}},
                {"not": {"event": "Order Completed", "within": {"days": 30}}},
            ]
        },
    ),
    (
        "Hot deals: Negotiation stage and visited pricing this week",
        "An open deal in Negotiation and a visit to the pricing page in the last 7 days.",
        {
            "all": [
                {"crm": "deal.stage", "op": "eq", "value": "Negotiation"},
                {"event": "Pricing", "within": {"days": 7}},
            ]
        },
    ),
)


def _recent_activity(stdout) -> int:
    source = Source.objects.filter(name="Website").first()
    if source is None:
        return 0
    now = timezone.now().replace(microsecond=0)
    calls = []
    negotiating = (
        Deal.objects.filter(stage__name="Negotiation", stage__kind=Stage.Kind.OPEN, contact__isnull=False)
        .exclude(contact__email="")
        .select_related("contact")
        .order_by("pk")[:6]
    )
    for i, deal in enumerate(negotiating):
        contact = deal.contact
        calls.append(
            {
                "type": "page",
                "name": "Pricing",
                "userId": f"cust-{contact.pk}",
                "messageId": f"demo-segments-pricing-{contact.pk}",
                "timestamp": (now - timedelta(days=i % 5, hours=3)).isoformat(),
                "properties": {"url": "https://modish.example/pricing", "title": "Pricing"},
                "context": {"traits": {"email": contact.email}},
            }
        )
    for i, contact in enumerate(Contact.objects.exclude(email="").order_by("pk")[10:18]):
        calls.append(
            {
                "type": "track",
                "event": "Product Added",
                "userId": f"cust-{contact.pk}",
                "messageId": f"demo-segments-cart-{contact.pk}",
                "timestamp": (now - timedelta(hours=2 + 2 * i)).isoformat(),
                "properties": {
                    "product_id": f"SKU-{100 + i}",
                    "category": "shoes",
                    "price": 89.0,
                    "currency": "EUR",
                },
                "context": {"traits": {"email": contact.email}},
            }
        )
    if calls:
        info = request_info_now(client_ip="127.0.0.1", user_agent="cdpcrm-demo", browser_source=True)
        batch_accept(
            source=source, kind="batch", body=json.dumps({"batch": calls}), event_count=len(calls), info=info
        )
    return len(calls)


def demo_load(*, users: dict, stdout) -> None:
    from .journeys.demo import demo_load as journeys_demo_load

    sent = _recent_activity(stdout)
    marketer = users.get("marketing")
    for name, description, rule in DEMO_SEGMENTS:
        # One transaction per segment: the destinations exist before the first recompute (run on commit).
        with transaction.atomic():
            existing = Segment.objects.filter(name=name).first()
            segment = segment_save(
                user=marketer, segment=existing, name=name, rule=rule, description=description
            )
            if name.startswith("Abandoned cart"):
                Destination.objects.get_or_create(
                    segment=segment,
                    name="Call the customer",
                    kind=Destination.Kind.CRM_TASK,
                    defaults={"task_title": "Customer abandoned a cart: call", "task_due_hours": 4},
                )
            if name.startswith("Gold+"):
                Destination.objects.get_or_create(
                    segment=segment,
                    name="Tag while waiting",
                    kind=Destination.Kind.TAG,
                    defaults={"tag_name": "Gold+ waiting"},
                )
                Destination.objects.get_or_create(
                    segment=segment,
                    name="Untag when solved",
                    kind=Destination.Kind.TAG,
                    defaults={
                        "tag_name": "Gold+ waiting",
                        "tag_action": Destination.TagAction.REMOVE,
                        "on_enter": False,
                        "on_exit": True,
                    },
                )
    sizes = ", ".join(
        f"{s.name}: {s.member_count}" for s in Segment.objects.filter(name__in=[d[0] for d in DEMO_SEGMENTS])
    )
    stdout.write(f"segments: {len(DEMO_SEGMENTS)} demo segments ({sent} recent demo events sent); {sizes}\n")
    journeys_demo_load(users=users, stdout=stdout)
