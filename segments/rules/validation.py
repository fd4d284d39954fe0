"""Validation of rule trees: every error names the node it is about (`all[2].where[0].op`)."""

import datetime
import math
import re
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_date, parse_datetime

from profiles.models import ComputedTrait
from profiles.unify.computed import BUILT_INS

from .spec import COUNT_OPS, CRM_FIELDS, VALUE_OPS, WINDOW_UNITS


def computed_trait_keys() -> set[str]:
    """The built-in computed traits and those marketers defined in the admin."""
    return {*BUILT_INS, *ComputedTrait.objects.values_list("key", flat=True)}


MAX_DEPTH = 8
MAX_CONDITIONS = 50
# Numbers compare as double precision; beyond 2**53 they are no longer exact (and SQLite cannot bind an
# integer past 64 bits), so a rule's numbers stay within the range JavaScript calls safe.
MAX_NUMBER = 2**53 - 1
# An event window reaches back at most 100 years (a longer one overflows date arithmetic).
MAX_WINDOW_SECONDS = 36500 * 86400
KEY_RE = re.compile(r"^[A-Za-z0-9_$][A-Za-z0-9_\-$ ]{0,99}$")
GROUP_KEYS = ("all", "any", "not")
LEAF_KEYS = ("trait", "computed_trait", "event", "crm", "segment")


class RuleError(ValidationError):
    """A rule tree was refused; `.errors` lists (path, message) pairs."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__([f"{path or 'rule'}: {message}" for path, message in errors])


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value) -> bool:
    return isinstance(value, str | bool) or _is_number(value)


def _out_of_range(value) -> bool:
    """A number a comparison cannot hold: NaN, an infinity or beyond MAX_NUMBER (in a list too)."""
    if isinstance(value, list):
        return any(_out_of_range(v) for v in value)
    return _is_number(value) and not (math.isfinite(value) and -MAX_NUMBER <= value <= MAX_NUMBER)


def unstorable_texts(value, path: str, found: list[tuple[str, str]], root: str = "") -> None:
    """Texts PostgreSQL refuses (NUL) or cannot encode (lone surrogates), anywhere in a JSON tree; a
    problem at the top is reported at `root`."""
    if isinstance(value, str):
        if "\x00" in value or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
            found.append(
                (path or root, "contains a character that cannot be stored (NUL or a lone surrogate)")
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            unstorable_texts(key, path, found, root)
            unstorable_texts(item, f"{path}.{key}" if path else str(key), found, root)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            unstorable_texts(item, f"{path}[{index}]", found, root)


def parse_when(value) -> datetime.datetime | None:
    """An ISO date or datetime string as an aware UTC datetime, or None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            if day is None:
                return None
            parsed = datetime.datetime.combine(day, datetime.time.min)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    try:
        return parsed.astimezone(datetime.UTC)
    except OverflowError:  # 9999-12-31T23:59-14:00 is in the year 10000 in UTC
        return None


def value_error(op: str, value) -> str | None:
    """Why `value` does not fit operator `op`, or None when it does."""
    kind = VALUE_OPS[op]
    if _out_of_range(value):
        return f"numbers must be between -{MAX_NUMBER} and {MAX_NUMBER}"
    if kind == "scalar" and not _is_scalar(value):
        return "must be a text, a number or true/false"
    if kind == "text" and not (isinstance(value, str) and value):
        return "must be a non-empty text"
    if kind == "number" and not _is_number(value):
        return "must be a number"
    if kind == "list":
        if not isinstance(value, list) or not value:
            return "must be a non-empty list"
        if not all(isinstance(v, str) for v in value) and not all(_is_number(v) for v in value):
            return "must be a list of texts or a list of numbers"
    if kind == "range":
        if not (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)):
            return "must be a list of two numbers [low, high]"
        if value[0] > value[1]:
            return "low must not be greater than high"
    if kind == "bool" and not isinstance(value, bool):
        return "must be true or false"
    if kind == "date" and parse_when(value) is None:
        return "must be a date like 2026-01-31 or a date-time like 2026-01-31T12:00:00Z"
    if kind == "days" and not (isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 3650):
        return "must be a whole number of days between 1 and 3650"
    return None


class _Validator:
    def __init__(self, segment_lookup: Callable[[int], dict | None] | None, segment_id: int | None):
        self.errors: list[tuple[str, str]] = []
        self.segment_lookup = segment_lookup
        self.segment_id = segment_id
        self.leaves = 0

    def error(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    def node(self, node, path: str, depth: int) -> None:
        if not isinstance(node, dict):
            self.error(path, 'must be an object such as {"all": [...]} or a condition')
            return
        if depth > MAX_DEPTH:
            self.error(path, f"groups are nested deeper than {MAX_DEPTH} levels")
            return
        kinds = [k for k in (*GROUP_KEYS, *LEAF_KEYS) if k in node]
        if len(kinds) != 1:
            expected = ", ".join(GROUP_KEYS + LEAF_KEYS)
            self.error(path, f"must have exactly one of the keys {expected}")
            return
        kind = kinds[0]
        prefix = f"{path}." if path else ""
        if kind in ("all", "any"):
            self._unknown(node, {kind}, path)
            children = node[kind]
            if not isinstance(children, list) or not children:
                self.error(f"{prefix}{kind}", "must be a non-empty list of conditions")
                return
            for index, child in enumerate(children):
                self.node(child, f"{prefix}{kind}[{index}]", depth + 1)
        elif kind == "not":
            self._unknown(node, {"not"}, path)
            self.node(node["not"], f"{prefix}not", depth + 1)
        else:
            self.leaves += 1
            if self.leaves == MAX_CONDITIONS + 1:
                self.error(path, f"a rule may hold at most {MAX_CONDITIONS} conditions")
            getattr(self, kind)(node, prefix, path)

    def _unknown(self, node: dict, allowed: set[str], path: str) -> None:
        prefix = f"{path}." if path else ""
        for key in node:
            if key not in allowed:
                self.error(f"{prefix}{key}", "is not a known key here")

    def _comparison(self, node: dict, prefix: str, ops) -> None:
        op = node.get("op")
        if op not in ops:
            self.error(f"{prefix}op", f"unknown operator {op!r}; use one of {', '.join(ops)}")
            return
        if "value" not in node:
            self.error(f"{prefix}value", "is required")
            return
        problem = value_error(op, node["value"])
        if problem:
            self.error(f"{prefix}value", problem)

    def _key(self, node: dict, key: str, prefix: str) -> None:
        name = node.get(key)
        if not isinstance(name, str) or not KEY_RE.match(name):
            self.error(f"{prefix}{key}", "must be a name of letters, digits, _ - $ or spaces (at most 100)")

    def trait(self, node: dict, prefix: str, path: str) -> None:
        self._unknown(node, {"trait", "op", "value"}, path)
        self._key(node, "trait", prefix)
        self._comparison(node, prefix, tuple(VALUE_OPS))

    def computed_trait(self, node: dict, prefix: str, path: str) -> None:
        # Values the pipeline keeps in Profile.computed_traits: the built-ins and those defined in the admin.
        self._unknown(node, {"computed_trait", "op", "value"}, path)
        self._key(node, "computed_trait", prefix)
        key = node.get("computed_trait")
        if isinstance(key, str) and key not in computed_trait_keys():
            self.error(f"{prefix}computed_trait", f"unknown computed trait {key!r}")
        self._comparison(node, prefix, tuple(VALUE_OPS))

    def event(self, node: dict, prefix: str, path: str) -> None:
        self._unknown(node, {"event", "where", "count", "within"}, path)
        name = node.get("event")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            self.error(f"{prefix}event", "must be an event name (1 to 200 characters)")
        where = node.get("where", [])
        if not isinstance(where, list):
            self.error(f"{prefix}where", "must be a list of property conditions")
        else:
            for index, condition in enumerate(where):
                wpath = f"{prefix}where[{index}]"
                if not isinstance(condition, dict):
                    self.error(wpath, 'must be an object {"property", "op", "value"}')
                    continue
                self._unknown(condition, {"property", "op", "value"}, wpath)
                self._key(condition, "property", f"{wpath}.")
                self._comparison(condition, f"{wpath}.", tuple(VALUE_OPS))
        if "count" in node:
            count = node["count"]
            if not isinstance(count, dict):
                self.error(f"{prefix}count", 'must be an object {"op": "gte", "value": 2}')
            else:
                self._unknown(count, {"op", "value"}, f"{prefix}count")
                if count.get("op") not in COUNT_OPS:
                    self.error(
                        f"{prefix}count.op",
                        f"unknown operator {count.get('op')!r}; use one of {', '.join(COUNT_OPS)}",
                    )
                value = count.get("value")
                if not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1_000_000):
                    self.error(f"{prefix}count.value", "must be a whole number from 0")
        if "within" in node:
            within = node["within"]
            if not isinstance(within, dict) or len(within) != 1 or next(iter(within)) not in WINDOW_UNITS:
                self.error(f"{prefix}within", 'must be one of {"days": N}, {"hours": N}, {"minutes": N}')
            else:
                unit, amount = next(iter(within.items()))
                limit = MAX_WINDOW_SECONDS // WINDOW_UNITS[unit]
                if not (isinstance(amount, int) and not isinstance(amount, bool) and 0 < amount <= limit):
                    self.error(f"{prefix}within.{unit}", f"must be a whole number from 1 to {limit}")

    def crm(self, node: dict, prefix: str, path: str) -> None:
        self._unknown(node, {"crm", "op", "value"}, path)
        field = node.get("crm")
        if field not in CRM_FIELDS:
            self.error(f"{prefix}crm", f"unknown CRM field {field!r}; use one of {', '.join(CRM_FIELDS)}")
            return
        _label, ops, kind, choices, _fact = CRM_FIELDS[field]
        self._comparison(node, prefix, ops)
        value = node.get("value")
        if node.get("op") in ops and "value" in node:
            if kind == "text" and node["op"] != "exists":
                values = value if isinstance(value, list) else [value]
                if not all(isinstance(v, str) for v in values):
                    self.error(f"{prefix}value", "must be text")
                elif choices is not None:
                    wrong = [v for v in values if v not in choices]
                    if wrong:
                        self.error(
                            f"{prefix}value", f"unknown value {wrong[0]!r}; use one of {', '.join(choices)}"
                        )
            if kind == "boolean" and not isinstance(value, bool):
                self.error(f"{prefix}value", "must be true or false")

    def segment(self, node: dict, prefix: str, path: str) -> None:
        self._unknown(node, {"segment"}, path)
        target = node.get("segment")
        if not isinstance(target, int) or isinstance(target, bool):
            self.error(f"{prefix}segment", "must be the id of another segment")
            return
        if target == self.segment_id:
            self.error(f"{prefix}segment", "a segment cannot contain itself")
            return
        if self.segment_lookup is None:
            return
        if self.segment_lookup(target) is None:
            self.error(f"{prefix}segment", f"segment {target} does not exist")
            return
        if self.segment_id is not None and self._reaches(target, self.segment_id, set()):
            self.error(f"{prefix}segment", f"segment {target} refers back to this segment (a cycle)")

    def _reaches(self, start: int, goal: int, seen: set[int]) -> bool:
        if start in seen:
            return False
        seen.add(start)
        rule = self.segment_lookup(start) or {}
        for ref in segment_refs(rule):
            if ref == goal or self._reaches(ref, goal, seen):
                return True
        return False


def segment_refs(rule) -> set[int]:
    """Ids of the segments a rule tree refers to."""
    found: set[int] = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("segment"), int):
                found.add(node["segment"])
            for key in ("all", "any"):
                if isinstance(node.get(key), list):
                    for child in node[key]:
                        walk(child)
            if "not" in node:
                walk(node["not"])

    walk(rule)
    return found


def rule_validate(
    *, rule, segment_id: int | None = None, segment_lookup: Callable[[int], dict | None] | None = None
) -> None:
    """Raise RuleError listing every problem; `segment_lookup(id)` returns another segment's rule."""
    validator = _Validator(segment_lookup, segment_id)
    unstorable_texts(rule, "", validator.errors)
    validator.node(rule, "", 0)
    if validator.errors:
        raise RuleError(validator.errors)
