"""Compiles a validated rule tree into ONE queryset over profiles (Exists / Subquery only).

Every leaf is a SQL boolean; `not` wraps its child in CASE WHEN ... THEN true ELSE false so that a
condition on a missing value (SQL NULL) negates to true on SQLite and PostgreSQL alike.
"""

import datetime

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Collate, Lower
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    IStartsWith,
    LessThan,
    LessThanOrEqual,
)

from contacts.models import Contact
from pipeline.models import Deal, Stage
from profiles.models import Event, Profile
from profiles.unify.contact import contact_id_expr
from tickets.models import Ticket

from .json import JsonBool, JsonIs, JsonNumber, JsonPresent, JsonText
from .spec import OPEN_TICKET_EXCLUDED, WINDOW_UNITS
from .validation import parse_when

CONTACT_REF = "_segment_contact_id"
SINCE_REF = "_journey_since"
_COMPARE = {"gt": GreaterThan, "gte": GreaterThanOrEqual, "lt": LessThan, "lte": LessThanOrEqual}


def window_delta(within: dict) -> datetime.timedelta:
    unit, amount = next(iter(within.items()))
    return datetime.timedelta(seconds=WINDOW_UNITS[unit] * amount)


def _false() -> Q:
    return Q(pk__in=[])


def _typed(column, key: str, value):
    if isinstance(value, bool):
        return JsonBool(column, key)
    if isinstance(value, int | float):
        return JsonNumber(column, key)
    return JsonText(column, key)


def _date_text(column, key: str):
    expr = JsonText(column, key)
    # Byte order, not the locale's: ISO timestamps must sort as text the same way on both databases.
    return Collate(expr, "C") if connection.vendor == "postgresql" else expr


def _iso(when: datetime.datetime) -> str:
    return when.astimezone(datetime.UTC).isoformat(timespec="seconds")[:19]  # the year always has 4 digits


def value_condition(column, key: str, op: str, value, now: datetime.datetime) -> Q:
    """A trait or event-property comparison on JSON column `column` (an F or OuterRef)."""
    if op == "eq":
        return Q(JsonIs(column, key, [value]))
    if op == "neq":
        return _negate(Q(JsonIs(column, key, [value])))
    if op == "contains":
        return Q(IContains(JsonText(column, key), value))
    if op == "starts_with":
        return Q(IStartsWith(JsonText(column, key), value))
    if op == "in":
        return Q(JsonIs(column, key, list(value)))
    if op in _COMPARE:
        return Q(_COMPARE[op](JsonNumber(column, key), value))
    if op == "between":
        number = JsonNumber(column, key)
        return Q(GreaterThanOrEqual(number, value[0])) & Q(LessThanOrEqual(number, value[1]))
    if op == "exists":
        present = Q(Exact(JsonPresent(column, key), True))
        return present if value else _negate(present)
    if op == "before":
        return Q(LessThan(_date_text(column, key), _iso(parse_when(value))))
    if op == "after":
        return Q(GreaterThan(_date_text(column, key), _iso(parse_when(value))))
    if op == "within_last_days":
        since = now - datetime.timedelta(days=value)
        return Q(GreaterThanOrEqual(_date_text(column, key), _iso(since))) & Q(
            LessThanOrEqual(_date_text(column, key), _iso(now) + "~")
        )
    raise ValueError(f"unknown operator {op}")


def _negate(q: Q, *, maybe_null: bool = True) -> Q:
    """NOT q, where a NULL child (a missing trait) counts as false first, so its negation is true on both
    databases. A child that is never NULL (EXISTS, a coalesced count) is negated plainly, which lets
    PostgreSQL plan `NOT EXISTS` as an anti-join instead of a sub-plan per profile."""
    if not maybe_null:
        return ~q
    return Q(Exact(Case(When(q, then=Value(True)), default=Value(False), output_field=BooleanField()), False))


def event_queryset(node: dict, now: datetime.datetime, *, windowed: bool = True):
    """Events matching the name, property filters and (when windowed) the time window of an event leaf."""
    events = Event.objects.filter(name=node["event"])
    for condition in node.get("where", []):
        events = events.filter(
            value_condition(F("properties"), condition["property"], condition["op"], condition["value"], now)
        )
    if windowed and node.get("within"):
        events = events.filter(timestamp__gt=now - window_delta(node["within"]), timestamp__lte=now)
    if node.get("since_enrolment"):
        # Journeys only: the outer profile queryset carries the enrolment's start as this annotation.
        events = events.filter(timestamp__gt=OuterRef(SINCE_REF), timestamp__lte=now)
    return events


def _event_condition(node: dict, now: datetime.datetime) -> Q:
    events = event_queryset(node, now).filter(profile=OuterRef("pk"))
    count = node.get("count", {"op": "gte", "value": 1})
    op, value = count["op"], count["value"]
    if (op, value) in (("gte", 1), ("gt", 0)):
        return Q(Exists(events))
    if (op, value) in (("eq", 0), ("lt", 1), ("lte", 0)):
        return ~Q(Exists(events))
    counted = Coalesce(
        Subquery(events.order_by().values("profile").annotate(n=Count("pk")).values("n")[:1]),
        Value(0),
        output_field=IntegerField(),
    )
    if op == "eq":
        return Q(Exact(counted, value))
    if op == "neq":
        return ~Q(Exact(counted, value))
    return Q(_COMPARE[op](counted, value))


def _choice_q(field: str, op: str, value) -> Q:
    if op == "in":
        return Q(**{f"{field}__in": list(value)})
    return Q(**{field: value})


def _crm_condition(node: dict) -> Q:
    field, op, value = node["crm"], node["op"], node.get("value")
    contact = OuterRef(CONTACT_REF)
    if field.startswith("contact."):
        contacts = Contact.objects.filter(pk=contact)
        if field == "contact.lifecycle_stage":
            q = _choice_q("lifecycle_stage", op if op != "neq" else "eq", value)
        elif field == "contact.owner":
            if op == "exists":
                q = Q(owner__isnull=not value)
            else:
                q = _choice_q("owner__username", op if op != "neq" else "eq", value)
        else:  # contact.tag: has the tag (any of the tags for `in`), case-insensitive
            names = [v.lower() for v in (value if isinstance(value, list) else [value])]
            q = Q(
                Exists(
                    Contact.tags.through.objects.filter(contact_id=OuterRef("pk"))
                    .annotate(name_lower=Lower("tag__name"))
                    .filter(name_lower__in=names)
                )
            )
        matched = Q(Exists(contacts.filter(q)))
        return ~matched if op == "neq" else matched
    if field.startswith("deal."):
        deals = Deal.objects.filter(contact_id=contact, stage__kind=Stage.Kind.OPEN)
        if field == "deal.stage":
            deals = deals.filter(_choice_q("stage__name", op, value))
        elif op == "between":
            deals = deals.filter(amount__gte=value[0], amount__lte=value[1])
        else:
            deals = deals.filter(**{f"amount__{op}": value})
        return Q(Exists(deals))
    if field.startswith("ticket."):
        tickets = Ticket.objects.filter(contact_id=contact).exclude(status__in=OPEN_TICKET_EXCLUDED)
        if field == "ticket.open":
            return Q(Exists(tickets)) if value else ~Q(Exists(tickets))
        return Q(Exists(tickets.filter(_choice_q("priority", op, value))))
    # loyalty.*
    from contacts.models import LoyaltyAccount

    accounts = LoyaltyAccount.objects.filter(contact_id=contact)
    if field == "loyalty.tier":
        matched = Q(Exists(accounts.filter(_choice_q("tier", "eq" if op == "neq" else op, value))))
        return ~matched if op == "neq" else matched
    if op == "between":
        return Q(Exists(accounts.filter(points_balance__gte=value[0], points_balance__lte=value[1])))
    lookup = "points_balance" if op == "eq" else f"points_balance__{op}"
    return Q(Exists(accounts.filter(**{lookup: value})))


def _segment_condition(node: dict) -> Q:
    from segments.models import Membership

    return Q(
        Exists(
            Membership.objects.filter(
                segment_id=node["segment"], profile=OuterRef("pk"), exited_at__isnull=True
            )
        )
    )


def _condition(node: dict, now: datetime.datetime) -> tuple[Q, bool]:
    """The SQL condition of a node, and whether it can be NULL (only trait comparisons can: a missing key)."""
    if "all" in node or "any" in node:
        children = [_condition(child, now) for child in node.get("all") or node.get("any")]
        q = Q() if "all" in node else _false()
        for child, _maybe_null in children:
            q = q & child if "all" in node else q | child
        return q, any(maybe_null for _q, maybe_null in children)
    if "not" in node:
        child, maybe_null = _condition(node["not"], now)
        return _negate(child, maybe_null=maybe_null), False
    if "trait" in node:
        return value_condition(F("traits"), node["trait"], node["op"], node["value"], now), True
    if "computed_trait" in node:
        return (
            value_condition(F("computed_traits"), node["computed_trait"], node["op"], node["value"], now),
            True,
        )
    if "event" in node:
        return _event_condition(node, now), False
    if "crm" in node:
        return _crm_condition(node), False
    if "segment" in node:
        return _segment_condition(node), False
    raise ValueError(f"not a rule node: {node!r}")


def node_condition(node: dict, now: datetime.datetime) -> Q:
    return _condition(node, now)[0]


def uses_crm(rule) -> bool:
    return any("crm" in leaf for leaf in leaves(rule))


def leaves(rule) -> list[dict]:
    found: list[dict] = []

    def walk(node):
        if not isinstance(node, dict):
            return
        if "all" in node or "any" in node:
            for child in node.get("all") or node.get("any") or []:
                walk(child)
        elif "not" in node:
            walk(node["not"])
        else:
            found.append(node)

    walk(rule)
    return found


def rule_compile(*, rule: dict, now: datetime.datetime, profiles=None, live_only: bool = True):
    """The live profiles matching `rule` at time `now`, as one queryset (no query runs here).

    A profile merged into another keeps its row and traits for the merge ledger (and unmerge), but it is no
    longer a person of its own: it never matches, so memberships, previews, exports, activations and
    counts see the survivor only. Journeys pass `live_only=False`: their consent seam records why a merged
    profile is skipped."""
    queryset = Profile.objects.all() if profiles is None else profiles
    if live_only:
        queryset = queryset.filter(merged_into__isnull=True)
    if uses_crm(rule):
        queryset = queryset.annotate(**{CONTACT_REF: contact_id_expr()})
    return queryset.filter(node_condition(rule, now)).order_by()
