"""The journey definition (trigger, steps, goal, exit) and its validation; every error names its place.

{"trigger": {"type": "event", "event": "Product Added", "where": [...], "if": <rule>},
 "steps": [{"id": "wait1", "type": "wait", "duration": {"hours": 1}, "next": "check"}, ...],
 "goal": <rule> | null, "exit": <rule> | null}

The first step is where a profile starts; `next: null` ends the journey as completed. Steps form a graph
without cycles, so running the instant steps of one enrolment always stops. Rules are the segment rule
language; in a journey an event condition may also say `"since_enrolment": true`.
"""

import copy
import re

from django.core.exceptions import ValidationError

from ..rules import RuleError, rule_validate, segment_refs
from ..rules.spec import WINDOW_UNITS
from ..rules.validation import unstorable_texts, value_error

STEP_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_STEPS = 60
MAX_WAIT_SECONDS = 400 * 86400

TRIGGER_TYPES = {
    "segment_entered": "A profile enters a segment",
    "segment_exited": "A profile leaves a segment",
    "event": "An event arrives",
    "crm": "A CRM change",
}
# CRM change -> (label, the optional "to" value it can be narrowed to)
CRM_CHANGES = {
    "contact.created": ("Contact created", None),
    "contact.lifecycle_changed": ("Lifecycle stage changed", "lifecycle stage"),
    "contact.field_changed": ("A contact field changed", None),
    "deal.stage_changed": ("Deal moved to a stage", "stage name"),
    "deal.won": ("Deal won", None),
    "deal.lost": ("Deal lost", None),
    "ticket.created": ("Ticket created", None),
    "ticket.solved": ("Ticket solved", None),
    "loyalty.tier_changed": ("Loyalty tier changed", "tier"),
}
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "lifecycle_stage",
    "lead_source",
    "owner_id",
)
SETTABLE_FIELDS = ("lifecycle_stage", "job_title", "lead_source")
# type -> (label, the keys holding the ids of following steps)
STEP_TYPES = {
    "wait": ("Wait", ("next",)),
    "wait_until": ("Wait until a time of day", ("next",)),
    "wait_event": ("Wait for an event", ("next", "timeout_next")),
    "branch": ("Branch on a condition", ("yes", "no")),
    "split": ("Random split (A/B)", ()),
    "send_email": ("Send an e-mail", ("next",)),
    "task": ("Create a task for the owner", ("next",)),
    "set_field": ("Set a contact field", ("next",)),
    "tag": ("Add or remove a tag", ("next",)),
    "loyalty_points": ("Add or remove loyalty points", ("next",)),
    "enrol": ("Enrol in another journey", ("next",)),
    "webhook": ("Call a webhook", ("next",)),
    "audience": ("Add to or remove from an audience", ("next",)),
}
STEP_KEYS = {
    "wait": {"duration"},
    "wait_until": {"time", "weekdays", "timezone_trait"},
    "wait_event": {"event", "where", "timeout"},
    "branch": {"rule"},
    "split": {"paths"},
    "send_email": {"template", "mailbox"},
    "task": {"title", "due_hours"},
    "set_field": {"field", "value"},
    "tag": {"tag", "action"},
    "loyalty_points": {"points", "reason"},
    "enrol": {"journey"},
    "webhook": {"endpoint"},
    "audience": {"destination", "action"},
}


class DefinitionError(ValidationError):
    """A journey definition was refused; `.errors` lists (path, message) pairs."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__([f"{path}: {message}" for path, message in errors])


def strip_since(rule):
    """A copy of `rule` without journey-only keys, for the segment rule validator."""
    rule = copy.deepcopy(rule)

    def walk(node):
        if isinstance(node, dict):
            node.pop("since_enrolment", None)
            for key in ("all", "any"):
                for child in node.get(key) or []:
                    walk(child)
            if "not" in node:
                walk(node["not"])

    walk(rule)
    return rule


def duration_seconds(value) -> int | None:
    if not (isinstance(value, dict) and len(value) == 1):
        return None
    unit, amount = next(iter(value.items()))
    if unit not in WINDOW_UNITS or not isinstance(amount, int) or isinstance(amount, bool) or amount < 1:
        return None
    seconds = WINDOW_UNITS[unit] * amount
    return seconds if seconds <= MAX_WAIT_SECONDS else None


class _Check:
    def __init__(self, lookups):
        self.errors: list[tuple[str, str]] = []
        self.lookups = lookups or {}

    def error(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    def rule(self, rule, path: str) -> None:
        if not isinstance(rule, dict):
            self.error(path, "must be a condition or a group of conditions")
            return
        lookup = self.lookups.get("segment_rule")
        try:
            rule_validate(rule=strip_since(rule), segment_lookup=lookup)
        except RuleError as error:
            for sub, message in error.errors:
                self.error(f"{path}.{sub}" if sub else path, message)

    def where(self, where, path: str) -> None:
        if where in (None, []):
            return
        if not isinstance(where, list) or len(where) > 20:
            self.error(path, "must be a list of at most 20 property conditions")
            return
        for index, condition in enumerate(where):
            here = f"{path}[{index}]"
            if not (isinstance(condition, dict) and isinstance(condition.get("property"), str)):
                self.error(here, 'must be {"property": ..., "op": ..., "value": ...}')
                continue
            op = condition.get("op")
            from ..rules.spec import VALUE_OPS

            if op not in VALUE_OPS:
                self.error(f"{here}.op", f"unknown operator {op!r}")
                continue
            problem = value_error(op, condition.get("value"))
            if problem:
                self.error(f"{here}.value", problem)

    def exists(self, kind: str, value, path: str, label: str) -> None:
        check = self.lookups.get(kind)
        if not isinstance(value, int) or isinstance(value, bool):
            self.error(path, f"must be the id of {label}")
        elif check is not None and not check(value):
            self.error(path, f"there is no {label} #{value}")

    def trigger(self, trigger) -> None:
        path = "trigger"
        if not isinstance(trigger, dict) or trigger.get("type") not in TRIGGER_TYPES:
            self.error(f"{path}.type", f"choose one of {', '.join(TRIGGER_TYPES)}")
            return
        kind = trigger["type"]
        allowed = {"type", "if"}
        if kind in ("segment_entered", "segment_exited"):
            allowed.add("segment")
            self.exists("segment", trigger.get("segment"), f"{path}.segment", "a segment")
        elif kind == "event":
            allowed |= {"event", "where"}
            if not (isinstance(trigger.get("event"), str) and 0 < len(trigger["event"]) <= 200):
                self.error(f"{path}.event", "name the event (at most 200 characters)")
            self.where(trigger.get("where"), f"{path}.where")
        else:
            allowed |= {"change", "to", "field"}
            change = trigger.get("change")
            if change not in CRM_CHANGES:
                self.error(f"{path}.change", f"choose one of {', '.join(CRM_CHANGES)}")
            to = trigger.get("to")
            if to not in (None, "") and (
                CRM_CHANGES.get(change, (0, None))[1] is None or not isinstance(to, str)
            ):
                self.error(f"{path}.to", "this change cannot be narrowed to a value")
            if change == "contact.field_changed" and trigger.get("field") not in CONTACT_FIELDS:
                self.error(f"{path}.field", f"choose one of {', '.join(CONTACT_FIELDS)}")
        if trigger.get("if") is not None:
            self.rule(trigger["if"], f"{path}.if")
        for key in trigger:
            if key not in allowed:
                self.error(f"{path}.{key}", "is not a known key here")

    def step(self, step: dict, path: str, ids: set[str]) -> list[str]:
        kind = step.get("type")
        if kind not in STEP_TYPES:
            self.error(f"{path}.type", f"choose one of {', '.join(STEP_TYPES)}")
            return []
        allowed = {"id", "type", "label", *STEP_TYPES[kind][1], *STEP_KEYS[kind]}
        for key in step:
            if key not in allowed:
                self.error(f"{path}.{key}", "is not a known key here")
        targets = []
        for key in STEP_TYPES[kind][1]:
            target = step.get(key)
            if target is not None:
                if target not in ids:
                    self.error(f"{path}.{key}", f"there is no step {target!r}")
                else:
                    targets.append(target)
        if kind == "wait" and duration_seconds(step.get("duration")) is None:
            self.error(
                f"{path}.duration", 'must be like {"hours": 1} (minutes, hours or days, up to 400 days)'
            )
        elif kind == "wait_until":
            if not (isinstance(step.get("time"), str) and TIME_RE.match(step["time"])):
                self.error(f"{path}.time", 'must be a time of day like "09:00"')
            weekdays = step.get("weekdays")
            if weekdays is not None and not (
                isinstance(weekdays, list)
                and weekdays
                and all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in weekdays)
            ):
                self.error(f"{path}.weekdays", "must be a list of weekdays 0 (Monday) to 6 (Sunday)")
            trait = step.get("timezone_trait")
            if trait is not None and not (isinstance(trait, str) and 0 < len(trait) <= 100):
                self.error(f"{path}.timezone_trait", "must be the name of a trait")
        elif kind == "wait_event":
            if not (isinstance(step.get("event"), str) and 0 < len(step["event"]) <= 200):
                self.error(f"{path}.event", "name the event to wait for")
            self.where(step.get("where"), f"{path}.where")
            if duration_seconds(step.get("timeout")) is None:
                self.error(f"{path}.timeout", 'must be like {"days": 3}')
        elif kind == "branch":
            self.rule(step.get("rule"), f"{path}.rule")
        elif kind == "split":
            paths = step.get("paths")
            if not (isinstance(paths, list) and 2 <= len(paths) <= 5):
                self.error(f"{path}.paths", "must list 2 to 5 paths")
            else:
                total = 0
                for index, item in enumerate(paths):
                    percent = item.get("percent") if isinstance(item, dict) else None
                    if not isinstance(percent, int) or isinstance(percent, bool) or not 0 < percent <= 100:
                        self.error(f"{path}.paths[{index}].percent", "must be a whole percentage 1-100")
                        continue
                    total += percent
                    target = item.get("next")
                    if target is not None:
                        if target not in ids:
                            self.error(f"{path}.paths[{index}].next", f"there is no step {target!r}")
                        else:
                            targets.append(target)
                if total != 100 and not any(p for p, _ in self.errors if p.startswith(f"{path}.paths")):
                    self.error(f"{path}.paths", f"the percentages add up to {total}, not 100")
        elif kind == "send_email":
            self.exists("template", step.get("template"), f"{path}.template", "an active e-mail template")
            self.exists("mailbox", step.get("mailbox"), f"{path}.mailbox", "a mailbox that can send (SMTP)")
        elif kind == "task":
            title = step.get("title")
            if not (isinstance(title, str) and title.strip() and len(title) <= 200):
                self.error(f"{path}.title", "give the task a title (at most 200 characters)")
            due = step.get("due_hours", 24)
            if not isinstance(due, int) or isinstance(due, bool) or not 0 <= due <= 24 * 365:
                self.error(f"{path}.due_hours", "must be a whole number of hours")
        elif kind == "set_field":
            if step.get("field") not in SETTABLE_FIELDS:
                self.error(f"{path}.field", f"choose one of {', '.join(SETTABLE_FIELDS)}")
            if not isinstance(step.get("value"), str) or len(step.get("value") or "") > 150:
                self.error(f"{path}.value", "must be a text of at most 150 characters")
        elif kind == "tag":
            tag = step.get("tag")
            if not (isinstance(tag, str) and tag.strip() and len(tag) <= 60):
                self.error(f"{path}.tag", "name the tag (at most 60 characters)")
            if step.get("action", "add") not in ("add", "remove"):
                self.error(f"{path}.action", "must be add or remove")
        elif kind == "loyalty_points":
            points = step.get("points")
            if not isinstance(points, int) or isinstance(points, bool) or points == 0 or abs(points) > 10**6:
                self.error(f"{path}.points", "must be a non-zero whole number (negative to remove)")
        elif kind == "enrol":
            self.exists("journey", step.get("journey"), f"{path}.journey", "a journey")
            if step.get("journey") is not None and step.get("journey") == self.lookups.get("self_id"):
                self.error(f"{path}.journey", "a journey cannot enrol into itself")
        elif kind == "webhook":
            self.exists("endpoint", step.get("endpoint"), f"{path}.endpoint", "a webhook endpoint")
        elif kind == "audience":
            self.exists(
                "destination", step.get("destination"), f"{path}.destination", "an audience destination"
            )
            if step.get("action", "add") not in ("add", "remove"):
                self.error(f"{path}.action", "must be add or remove")
        return targets

    def steps(self, steps) -> None:
        if not isinstance(steps, list) or not steps:
            self.error("steps", "add at least one step")
            return
        if len(steps) > MAX_STEPS:
            self.error("steps", f"a journey may have at most {MAX_STEPS} steps")
            return
        ids: set[str] = set()
        for index, step in enumerate(steps):
            if not isinstance(step, dict):
                self.error(f"steps[{index}]", "must be an object")
                continue
            sid = step.get("id")
            if not (isinstance(sid, str) and STEP_ID_RE.match(sid)):
                self.error(f"steps[{index}].id", "must be 1-40 letters, digits, - or _")
            elif sid in ids:
                self.error(f"steps[{index}].id", f"the id {sid!r} is used twice")
            else:
                ids.add(sid)
        graph: dict[str, list[str]] = {}
        for index, step in enumerate(steps):
            if isinstance(step, dict):
                targets = self.step(step, f"steps[{index}]", ids)
                if isinstance(step.get("id"), str):
                    graph[step["id"]] = targets
        self._acyclic(graph, steps)

    def _acyclic(self, graph: dict[str, list[str]], steps: list) -> None:
        state: dict[str, int] = {}
        position = {s.get("id"): i for i, s in enumerate(steps) if isinstance(s, dict)}

        def visit(node: str) -> bool:
            state[node] = 1
            for target in graph.get(node, []):
                if state.get(target) == 1 or (state.get(target) is None and not visit(target)):
                    return False
            state[node] = 2
            return True

        for node in graph:
            if state.get(node) is None and not visit(node):
                self.error(
                    f"steps[{position[node]}]",
                    "the steps loop back on themselves; a journey must move forward",
                )
                return


def definition_validate(*, definition, lookups: dict | None = None) -> None:
    """Raise DefinitionError listing every problem. `lookups` maps "segment", "journey", "endpoint",
    "destination", "template", "mailbox" to existence checks and "segment_rule" to a segment's rule (for cycles)."""
    check = _Check(lookups)
    if not isinstance(definition, dict):
        raise DefinitionError([("definition", "must be an object with trigger and steps")])
    unstorable: list[tuple[str, str]] = []
    unstorable_texts(definition, "", unstorable, "definition")
    if unstorable:
        raise DefinitionError(unstorable)
    for key in definition:
        if key not in ("trigger", "steps", "goal", "exit"):
            check.error(key, "is not a known key here")
    check.trigger(definition.get("trigger"))
    check.steps(definition.get("steps"))
    for key in ("goal", "exit"):
        if definition.get(key) is not None:
            check.rule(definition[key], key)
    if check.errors:
        raise DefinitionError(check.errors)


def definition_segment_refs(definition) -> set[int]:
    """Ids of the segments a definition uses: its segment trigger and every rule (trigger `if`, branches,
    goal, exit) that says "in segment ..."."""
    if not isinstance(definition, dict):
        return set()
    trigger = definition.get("trigger") or {}
    found = {trigger["segment"]} if isinstance(trigger.get("segment"), int) else set()
    rules = [trigger.get("if"), definition.get("goal"), definition.get("exit")]
    rules += [step.get("rule") for step in definition.get("steps") or [] if isinstance(step, dict)]
    for rule in rules:
        found |= segment_refs(rule)
    return found


def steps_by_id(definition: dict) -> dict[str, dict]:
    return {step["id"]: step for step in definition.get("steps", [])}


def first_step(definition: dict) -> str:
    return definition["steps"][0]["id"]


def step_summary(step: dict) -> str:
    """A short label for the diagram and the path ("Wait 2 days", "Branch: …")."""
    if step.get("label"):
        return str(step["label"])[:120]
    kind = step["type"]
    if kind == "wait":
        unit, amount = next(iter(step["duration"].items()))
        return f"Wait {amount} {unit if amount != 1 else unit.rstrip('s')}"
    if kind == "wait_until":
        return f"Wait until {step['time']}"
    if kind == "wait_event":
        return f"Wait for “{step['event']}”"
    if kind == "task":
        return f"Task: {step['title']}"
    if kind == "tag":
        return f"{'Remove' if step.get('action') == 'remove' else 'Add'} tag “{step['tag']}”"
    if kind == "loyalty_points":
        return f"{step['points']:+d} loyalty points"
    if kind == "set_field":
        return f"Set {step['field'].replace('_', ' ')} to “{step['value']}”"
    return STEP_TYPES[kind][0]
