"""Property: for random rule trees and CRM/event histories, incremental membership == full recompute."""

import datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contacts.models import LoyaltyAccount
from profiles.models import Profile
from segments import services, tasks
from segments.models import Membership, Segment
from segments.rules import rule_compile, rule_validate
from tickets.models import Ticket

from . import factories as f

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 15, 12, 0, tzinfo=datetime.UTC)
PROFILES = 4  # the first two are linked to contacts by email

leaf = st.one_of(
    st.builds(lambda v: {"trait": "tier", "op": "eq", "value": v}, st.sampled_from(["gold", "silver"])),
    st.builds(
        lambda op, v: {"trait": "points", "op": op, "value": v},
        st.sampled_from(["gt", "lte", "neq"]),
        st.integers(0, 3),
    ),
    st.builds(lambda v: {"trait": "points", "op": "exists", "value": v}, st.booleans()),
    st.builds(
        lambda name, where, count, days: {
            "event": name,
            **({"where": [{"property": "cat", "op": "eq", "value": where}]} if where else {}),
            **({"count": {"op": count[0], "value": count[1]}} if count else {}),
            **({"within": {"days": days}} if days else {}),
        },
        st.sampled_from(["A", "B"]),
        st.sampled_from([None, "x", "y"]),
        st.one_of(st.none(), st.tuples(st.sampled_from(["gte", "eq", "lt"]), st.integers(0, 2))),
        st.sampled_from([None, 2, 10]),
    ),
    st.builds(lambda v: {"crm": "ticket.open", "op": "eq", "value": v}, st.booleans()),
    st.builds(
        lambda v: {"crm": "loyalty.tier", "op": "in", "value": v},
        st.lists(st.sampled_from(["gold", "silver"]), min_size=1, max_size=2, unique=True),
    ),
    st.just({"crm": "deal.stage", "op": "eq", "value": "Negotiation"}),
)
rules = st.recursive(
    leaf,
    lambda children: st.one_of(
        st.builds(lambda c: {"all": c}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda c: {"any": c}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, children),
    ),
    max_leaves=5,
)
steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("trait"),
            st.integers(0, PROFILES - 1),
            st.sampled_from(["gold", "silver", None]),
            st.one_of(st.none(), st.integers(0, 3)),
        ),
        st.tuples(
            st.just("event"),
            st.integers(0, PROFILES - 1),
            st.sampled_from(["A", "B"]),
            st.sampled_from(["x", "y"]),
            st.integers(0, 12),
        ),
        st.tuples(st.just("ticket"), st.integers(0, 1), st.booleans()),
        st.tuples(st.just("tier"), st.integers(0, 1), st.sampled_from(["gold", "silver", "bronze"])),
        st.tuples(st.just("deal"), st.integers(0, 1), st.sampled_from(["Negotiation", "Qualified"])),
    ),
    min_size=1,
    max_size=8,
)


def _apply(step, profiles, contacts) -> None:
    kind = step[0]
    if kind == "trait":
        _, i, tier, points = step
        prof = profiles[i]
        prof.traits = {k: v for k, v in {"tier": tier, "points": points}.items() if v is not None}
        prof.save(update_fields=["traits"])
        tasks.segment_profiles_changed_task([prof.pk], ["traits"])
    elif kind == "event":
        _, i, name, cat, days_ago = step
        f.event(profiles[i], name, at=NOW - datetime.timedelta(days=days_ago, minutes=1), cat=cat)
        tasks.segment_profiles_changed_task([profiles[i].pk], ["events"])
    elif kind == "ticket":
        _, j, is_open = step
        Ticket.objects.filter(contact=contacts[j]).delete()
        if is_open:
            f.ticket(contact=contacts[j], status="open")
        tasks.segment_crm_changed_task([contacts[j].pk], "ticket")
    elif kind == "tier":
        _, j, tier = step
        LoyaltyAccount.objects.update_or_create(
            contact=contacts[j], defaults={"tier": tier, "member_since": NOW.date()}
        )
        tasks.segment_crm_changed_task([contacts[j].pk], "loyalty")
    else:
        _, j, stage_name = step
        f.deal(contact=contacts[j], stage_name=stage_name)
        tasks.segment_crm_changed_task([contacts[j].pk], "deal")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rule=rules, history=steps)
@example(rule={"crm": "ticket.open", "op": "eq", "value": True}, history=[("ticket", 0, True)])
@example(rule={"crm": "loyalty.tier", "op": "in", "value": ["gold"]}, history=[("tier", 1, "gold")])
@example(
    rule={"not": {"crm": "deal.stage", "op": "eq", "value": "Negotiation"}},
    history=[("deal", 0, "Negotiation")],
)
@example(
    rule={"event": "A", "count": {"op": "gte", "value": 2}, "within": {"days": 10}},
    history=[("event", 2, "A", "x", 1), ("event", 2, "A", "y", 11), ("event", 2, "A", "x", 3)],
)
@example(
    rule={"any": [{"trait": "tier", "op": "eq", "value": "gold"}, {"not": {"event": "B"}}]},
    history=[("trait", 3, "gold", 1), ("event", 0, "B", "x", 0)],
)
def test_incremental_membership_equals_full_recompute(rule, history, monkeypatch):
    rule_validate(rule=rule)
    monkeypatch.setattr(services.timezone, "now", lambda: NOW)
    with transaction.atomic():
        profiles = [f.profile(email=f"p{i}@example.com" if i < 2 else None) for i in range(PROFILES)]
        contacts = [f.contact(email=f"p{j}@example.com") for j in range(2)]
        segment = Segment.objects.create(name="Property", rule=rule)
        services.segment_recompute(segment_id=segment.pk, now=NOW)
        for step in history:
            _apply(step, profiles, contacts)

        incremental = set(
            Membership.objects.filter(segment=segment, exited_at__isnull=True).values_list(
                "profile_id", flat=True
            )
        )
        full = set(
            rule_compile(
                rule=rule, now=NOW, profiles=Profile.objects.filter(pk__in=[p.pk for p in profiles])
            ).values_list("pk", flat=True)
        )
        assert incremental == full
        assert services.segment_recompute(segment_id=segment.pk, now=NOW) == (0, 0)
        transaction.set_rollback(True)
