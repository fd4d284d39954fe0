"""Helpers for segment tests: profiles with identities, events, and the CRM rows rules can test."""

import datetime
import itertools
from decimal import Decimal

from django.utils import timezone

from contacts.models import Contact, LoyaltyAccount
from pipeline.models import Deal, Pipeline, Stage
from profiles.models import Event, Identity, Profile, Source
from segments.models import Segment
from tickets.models import Ticket

_seq = itertools.count(1)


def source() -> Source:
    found = Source.objects.filter(name="Segment tests").first()
    if found:
        return found
    return Source.objects.create(
        name="Segment tests", kind="server", write_key_hash=f"h{next(_seq)}", write_key_prefix="seg"
    )


def profile(*, traits: dict | None = None, email: str | None = None) -> Profile:
    made = Profile.objects.create(traits=traits or {}, first_seen=timezone.now(), last_seen=timezone.now())
    Identity.objects.create(kind="anonymous_id", value=f"anon-{made.pk}-{next(_seq)}", profile=made)
    if email:
        Identity.objects.create(kind="email", value=email.lower(), profile=made)
    return made


def event(prof: Profile, name: str, *, at: datetime.datetime | None = None, **properties) -> Event:
    when = at or timezone.now()
    return Event.objects.create(
        source=source(),
        profile=prof,
        message_id=f"m-{next(_seq)}",
        type="track",
        name=name,
        timestamp=when,
        received_at=when,
        properties=properties,
    )


def contact(
    *, email: str, owner=None, lifecycle: str = "lead", tags=(), tier: str | None = None, points: int = 0
) -> Contact:
    made = Contact.objects.create(
        first_name="Test", last_name=email.split("@")[0], email=email, owner=owner, lifecycle_stage=lifecycle
    )
    if tags:
        from contacts.models import Tag

        made.tags.set([Tag.objects.get_or_create(name=t)[0] for t in tags])
    if tier:
        LoyaltyAccount.objects.create(
            contact=made, tier=tier, points_balance=points, member_since=timezone.localdate()
        )
    return made


def stage(name: str, kind: str = "open") -> Stage:
    pipe, _ = Pipeline.objects.get_or_create(name="Segment tests pipeline")
    found, _ = Stage.objects.get_or_create(
        pipeline=pipe, name=name, defaults={"kind": kind, "probability": 50}
    )
    return found


def deal(
    *, contact: Contact, stage_name: str = "Negotiation", kind: str = "open", amount: str = "1000"
) -> Deal:
    st = stage(stage_name, kind)
    return Deal.objects.create(
        title=f"Deal {next(_seq)}",
        contact=contact,
        pipeline=st.pipeline,
        stage=st,
        amount=Decimal(amount),
        lost_reason="price" if kind == "lost" else "",
    )


def ticket(*, contact: Contact, status: str = "open", priority: str = "normal") -> Ticket:
    return Ticket.objects.create(subject="Help", contact=contact, status=status, priority=priority)


def segment(rule: dict, name: str | None = None) -> Segment:
    return Segment.objects.create(name=name or f"Segment {next(_seq)}", rule=rule)
