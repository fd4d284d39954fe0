"""The vocabulary of rule trees: operators per value type and the CRM facts a rule can test."""

from contacts.models import Contact, LoyaltyAccount
from tickets.models import Priority

# Operators on a trait or an event property, with the shape of the value each expects.
VALUE_OPS: dict[str, str] = {
    "eq": "scalar",
    "neq": "scalar",
    "contains": "text",
    "starts_with": "text",
    "in": "list",
    "gt": "number",
    "gte": "number",
    "lt": "number",
    "lte": "number",
    "between": "range",
    "exists": "bool",
    "before": "date",
    "after": "date",
    "within_last_days": "days",
}
OP_LABELS = {
    "eq": "is",
    "neq": "is not",
    "contains": "contains",
    "starts_with": "starts with",
    "in": "is one of",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "between": "is between",
    "exists": "exists",
    "before": "is before",
    "after": "is after",
    "within_last_days": "is within the last",
}
# Operator lists the builder offers per type of value.
OPS_BY_TYPE = {
    "text": ["eq", "neq", "contains", "starts_with", "in", "exists"],
    "number": ["eq", "neq", "gt", "gte", "lt", "lte", "between", "in", "exists"],
    "boolean": ["eq", "neq", "exists"],
    "date": ["before", "after", "within_last_days", "exists"],
}
COUNT_OPS = ("eq", "neq", "gt", "gte", "lt", "lte")
WINDOW_UNITS = {"days": 86400, "hours": 3600, "minutes": 60}

OPEN_TICKET_EXCLUDED = ("solved", "closed")


# crm field -> (label, allowed ops, value kind, allowed values or None, the CRM "fact" that changes it)
CRM_FIELDS: dict[str, tuple[str, tuple[str, ...], str, tuple | None, str]] = {
    "contact.lifecycle_stage": (
        "contact lifecycle stage",
        ("eq", "neq", "in"),
        "text",
        tuple(Contact.Lifecycle.values),
        "lifecycle",
    ),
    "contact.owner": ("contact owner", ("eq", "neq", "in", "exists"), "text", None, "owner"),
    "contact.tag": ("contact tag", ("eq", "neq", "in"), "text", None, "tag"),
    "deal.stage": ("open deal stage", ("eq", "in"), "text", None, "deal"),
    "deal.amount": ("open deal amount", ("gt", "gte", "lt", "lte", "between"), "number", None, "deal"),
    "ticket.open": ("has an open ticket", ("eq",), "boolean", None, "ticket"),
    "ticket.priority": ("open ticket priority", ("eq", "in"), "text", tuple(Priority.values), "ticket"),
    "loyalty.tier": (
        "loyalty tier",
        ("eq", "neq", "in"),
        "text",
        tuple(LoyaltyAccount.Tier.values),
        "loyalty",
    ),
    "loyalty.points": (
        "loyalty points",
        ("eq", "gt", "gte", "lt", "lte", "between"),
        "number",
        None,
        "loyalty",
    ),
}
