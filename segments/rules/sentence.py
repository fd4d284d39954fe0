"""A human-readable sentence for a rule tree, shown in lists, on the segment page and in the builder."""

from collections.abc import Callable

from .spec import CRM_FIELDS, OP_LABELS


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, str):
        return f"“{value}”"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _comparison(subject: str, op: str, value) -> str:
    if op == "exists":
        return f"{subject} is set" if value else f"{subject} is not set"
    if op == "between":
        return f"{subject} is between {_value(value[0])} and {_value(value[1])}"
    if op == "within_last_days":
        return f"{subject} is within the last {value} day{'s' if value != 1 else ''}"
    return f"{subject} {OP_LABELS[op]} {_value(value)}"


def _times(count: dict) -> str:
    op, value = count["op"], count["value"]
    words = {
        "eq": "exactly",
        "neq": "not exactly",
        "gt": "more than",
        "gte": "at least",
        "lt": "fewer than",
        "lte": "at most",
    }
    return f"{words[op]} {value} time{'s' if value != 1 else ''}"


def _within(within: dict) -> str:
    unit, amount = next(iter(within.items()))
    if amount == 1:
        return f"in the last {unit[:-1]}"
    return f"in the last {amount} {unit}"


def _event(node: dict, negated: bool) -> str:
    parts = [f"did not do “{node['event']}”" if negated else f"did “{node['event']}”"]
    where = node.get("where") or []
    if where:
        parts.append("where " + " and ".join(_comparison(w["property"], w["op"], w["value"]) for w in where))
    count = node.get("count")
    if count and not negated and (count["op"], count["value"]) != ("gte", 1):
        parts.append(_times(count))
    if node.get("within"):
        parts.append(_within(node["within"]))
    return " ".join(parts)


def _crm(node: dict) -> str:
    field, op, value = node["crm"], node["op"], node.get("value")
    label = CRM_FIELDS[field][0]
    if field == "ticket.open":
        return "has an open ticket" if value else "has no open ticket"
    return _comparison(label, op, value)


def rule_sentence(*, rule: dict, segment_name: Callable[[int], str] | None = None) -> str:
    """E.g. 'loyalty_tier is one of “gold”, “platinum” and did “Product Added” in the last 7 days'."""

    def text(node: dict, top: bool = False) -> str:
        if "all" in node or "any" in node:
            key = "all" if "all" in node else "any"
            joined = (" and " if key == "all" else " or ").join(text(child) for child in node[key])
            return joined if top or len(node[key]) == 1 else f"({joined})"
        if "not" in node:
            inner = node["not"]
            if "event" in inner and (inner.get("count") in (None, {"op": "gte", "value": 1})):
                return _event(inner, negated=True)
            return f"not {text(inner)}"
        if "trait" in node:
            return _comparison(node["trait"], node["op"], node["value"])
        if "computed_trait" in node:
            return _comparison(node["computed_trait"], node["op"], node["value"])
        if "event" in node:
            return _event(node, negated=False)
        if "crm" in node:
            return _crm(node)
        if "segment" in node:
            name = segment_name(node["segment"]) if segment_name else f"#{node['segment']}"
            return f"is in segment “{name}”"
        return "?"

    return text(rule, top=True)
