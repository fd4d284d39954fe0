"""Runs enrolments through their steps inside the caller's transaction, in groups of one version and step.

A round takes locked enrolments whose current step is due (or that just entered), checks goal and exit,
finishes the due step (a wait is over, a wait for an event timed out), then runs every instant step
(branches, splits, actions) until each enrolment waits again or ends. Everything it writes (the enrolment's
position, its path, CRM changes, webhook and audience outbox rows) commits or rolls back together, so a
worker killed mid-step leaves the enrolment where it was for the next sweep and no step runs twice.
"""

import datetime
import hashlib
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from profiles.ingest import store
from profiles.models import Profile

from ..rules import rule_compile
from ..rules.compiler import SINCE_REF
from . import actions
from .counters import days_add, steps_add
from .definition import duration_seconds, first_step, step_summary, steps_by_id
from .models import Enrolment, JourneyVersion, StepLog

WAIT_TYPES = ("wait", "wait_until", "wait_event")


@dataclass
class Run:
    """One enrolment during a round: where it is, what it logged, how it ends."""

    enrolment: Enrolment
    step: str | None
    logs: list[tuple[str, str, str]] = field(default_factory=list)  # (step, kind, summary)
    due_at: datetime.datetime | None = None
    state: str = Enrolment.State.ACTIVE
    end_reason: str = ""
    moved: bool = False

    def log(self, step: str, kind: str, summary: str) -> None:
        self.logs.append((step, kind, summary[:300]))


class Round:
    def __init__(self, *, now: datetime.datetime, journey_names: dict[int, str]):
        self.now = now
        self.journey_names = journey_names
        self._versions: dict[int, dict] = {}
        self.current_step = ""  # the step being run (named in the path if it raises)

    def definition(self, version_id: int) -> dict:
        if version_id not in self._versions:
            self._versions[version_id] = JourneyVersion.objects.values_list("definition", flat=True).get(
                pk=version_id
            )
        return self._versions[version_id]

    def preload(self, version_ids) -> None:
        missing = set(version_ids) - set(self._versions)
        if missing:
            self._versions.update(
                JourneyVersion.objects.filter(pk__in=missing).values_list("pk", "definition")
            )

    # --- conditions ----------------------------------------------------------------------------------

    def matching(self, *, rule: dict, runs: list[Run]) -> set[int]:
        """Enrolment ids of `runs` (one journey) whose profile matches `rule` now."""
        if not runs:
            return set()
        journey_id = runs[0].enrolment.journey_id
        profiles = Profile.objects.filter(pk__in=[r.enrolment.profile_id for r in runs]).annotate(
            **{
                SINCE_REF: Subquery(
                    Enrolment.objects.filter(
                        journey_id=journey_id, profile=OuterRef("pk"), state=Enrolment.State.ACTIVE
                    ).values("entered_at")[:1]
                )
            }
        )
        matched = set(
            rule_compile(rule=rule, now=self.now, profiles=profiles, live_only=False).values_list(
                "pk", flat=True
            )
        )
        return {r.enrolment.pk for r in runs if r.enrolment.profile_id in matched}

    # --- the round --------------------------------------------------------------------------------------

    def run(
        self, enrolments: list[Enrolment], *, fire_due: bool = True, event_ids: set[int] | None = None
    ) -> list[Run]:
        """Advance `enrolments` (locked by the caller). `fire_due` finishes their current (due) step;
        `event_ids` are enrolments whose awaited event arrived (they take the step's `next`)."""
        runs = [Run(enrolment=e, step=e.step or None) for e in enrolments]
        self.preload({e.version_id for e in enrolments})
        by_version: dict[int, list[Run]] = defaultdict(list)
        for run in runs:
            by_version[run.enrolment.version_id].append(run)
        for version_id, group in by_version.items():
            definition = self.definition(version_id)
            live = self._goal_exit(definition, group)
            steps = steps_by_id(definition)
            arriving: dict[str | None, list[Run]] = defaultdict(list)
            for run in live:
                current = run.enrolment.step
                if not current:
                    name = self.journey_names.get(run.enrolment.journey_id, "the journey")
                    run.log("", StepLog.Kind.ENTERED, f"Entered {name}")
                    arriving[first_step(definition)].append(run)
                    continue
                step = steps.get(current)
                if step is None:  # cannot happen with immutable versions; end rather than loop
                    run.state, run.end_reason = Enrolment.State.EXITED, "The step no longer exists."
                    continue
                if event_ids is not None and run.enrolment.pk in event_ids:
                    run.log(current, StepLog.Kind.STEP, f"“{step['event']}” happened")
                    arriving[step.get("next")].append(run)
                elif fire_due:
                    arriving[self._finish_wait(step, run)].append(run)
            self._arrive(definition, steps, arriving)
        return runs

    def _goal_exit(self, definition: dict, group: list[Run]) -> list[Run]:
        live = group
        for key, state, summary in (
            ("goal", Enrolment.State.CONVERTED, "Converted"),
            ("exit", Enrolment.State.EXITED, "Exited: the exit condition matched"),
        ):
            rule = definition.get(key)
            candidates = [r for r in live if r.enrolment.step]  # a new entry runs its first step first
            if not rule or not candidates:
                continue
            hit = self.matching(rule=rule, runs=candidates)
            for run in candidates:
                if run.enrolment.pk in hit:
                    run.state, run.step, run.end_reason = state, None, summary
                    run.log(run.enrolment.step, state, summary)
            live = [r for r in live if r.state == Enrolment.State.ACTIVE]
        return live

    def _finish_wait(self, step: dict, run: Run) -> str | None:
        kind, sid = step["type"], step["id"]
        if kind == "wait":
            run.log(sid, StepLog.Kind.STEP, f"Waited {step_summary(step)[5:]}")
            return step.get("next")
        if kind == "wait_until":
            run.log(sid, StepLog.Kind.STEP, f"Waited until {step['time']}")
            return step.get("next")
        if kind == "wait_event":
            unit, amount = next(iter(step["timeout"].items()))
            run.log(sid, StepLog.Kind.STEP, f"No “{step['event']}” within {amount} {unit}")
            return step.get("timeout_next")
        return step.get("next")  # an instant step held by a pause or a crash: it already ran

    def _arrive(self, definition: dict, steps: dict, arriving: dict[str | None, list[Run]]) -> None:
        """Run instant steps group by group until every run waits or ends (the graph has no cycles)."""
        while arriving:
            sid = next(iter(arriving))
            group = arriving.pop(sid)
            if sid is None:
                for run in group:
                    if run.state == Enrolment.State.ACTIVE:
                        run.state, run.step, run.end_reason = Enrolment.State.COMPLETED, None, "Completed"
                        run.log("", StepLog.Kind.COMPLETED, "Completed the journey")
                continue
            step = steps[sid]
            self.current_step = sid
            for run in group:
                run.step, run.moved = sid, True
            if step["type"] in WAIT_TYPES:
                if step["type"] == "wait_until":
                    traits = dict(
                        Profile.objects.filter(pk__in=[r.enrolment.profile_id for r in group]).values_list(
                            "pk", "traits"
                        )
                    )
                    for run in group:
                        run.enrolment.profile_traits = traits.get(run.enrolment.profile_id) or {}
                for run in group:
                    run.due_at = self._due(step, run)
                continue
            if step["type"] == "branch":
                hit = self.matching(rule=step["rule"], runs=group)
                for run in group:
                    taken = run.enrolment.pk in hit
                    run.log(sid, StepLog.Kind.STEP, f"{step_summary(step)}: {'yes' if taken else 'no'}")
                    arriving.setdefault(step.get("yes" if taken else "no"), []).append(run)
                continue
            if step["type"] == "split":
                for run in group:
                    index, target = self._split(step, run.enrolment.pk)
                    run.log(sid, StepLog.Kind.STEP, f"Random split: path {'ABCDE'[index]}")
                    arriving.setdefault(target, []).append(run)
                continue
            outcomes = actions.run(step=step, runs=group, now=self.now)
            for run in group:
                kind, summary = outcomes.get(run.enrolment.pk, (StepLog.Kind.STEP, step_summary(step)))
                run.log(sid, kind, summary)
                arriving.setdefault(step.get("next"), []).append(run)

    @staticmethod
    def _split(step: dict, enrolment_id: int) -> tuple[int, str | None]:
        digest = hashlib.sha256(f"{enrolment_id}:{step['id']}".encode()).digest()
        point = int.from_bytes(digest[:4], "big") % 100
        total = 0
        for index, path in enumerate(step["paths"]):
            total += path["percent"]
            if point < total:
                return index, path.get("next")
        return len(step["paths"]) - 1, step["paths"][-1].get("next")

    def _due(self, step: dict, run: Run) -> datetime.datetime:
        kind = step["type"]
        if kind == "wait":
            return self.now + datetime.timedelta(seconds=duration_seconds(step["duration"]))
        if kind == "wait_event":
            return self.now + datetime.timedelta(seconds=duration_seconds(step["timeout"]))
        return next_time_of_day(
            now=self.now,
            time=step["time"],
            weekdays=step.get("weekdays"),
            zone=self.zone_for(run.enrolment, step.get("timezone_trait") or "timezone"),
        )

    def zone_for(self, enrolment: Enrolment, trait: str) -> zoneinfo.ZoneInfo:
        name = (getattr(enrolment, "profile_traits", None) or {}).get(trait)
        if isinstance(name, str):
            try:
                return zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                pass
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def next_time_of_day(
    *, now: datetime.datetime, time: str, weekdays: list[int] | None, zone: datetime.tzinfo
) -> datetime.datetime:
    """The first moment after `now` that is `time` (HH:MM) in `zone` on one of `weekdays` (Mon=0)."""
    hour, minute = (int(part) for part in time.split(":"))
    local = now.astimezone(zone)
    for days in range(8):
        day = (local + datetime.timedelta(days=days)).date()
        if weekdays and day.weekday() not in weekdays:
            continue
        candidate = datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
        if candidate > local:
            return candidate.astimezone(datetime.UTC)
    return (local + datetime.timedelta(days=7)).astimezone(datetime.UTC)


def runs_save(*, runs: list[Run], now: datetime.datetime) -> int:
    """Write the round back: one UPDATE per (outcome) group, the path lines in one bulk insert."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    logs: list[dict] = []
    for run in runs:
        e = run.enrolment
        if not run.logs and not run.moved and run.state == Enrolment.State.ACTIVE:
            continue  # untouched (e.g. a goal check that did not match)
        for offset, (step, kind, summary) in enumerate(run.logs):
            logs.append(
                {
                    "enrolment_id": e.pk,
                    "journey_id": e.journey_id,
                    "profile_id": e.profile_id,
                    "step": step,
                    "sequence": e.steps_taken + offset + 1,
                    "kind": kind,
                    "summary": summary,
                    "at": now,
                }
            )
        ended = run.state != Enrolment.State.ACTIVE
        key = (
            run.state,
            "" if ended else (run.step or ""),
            None if ended else run.due_at,
            run.moved or ended,
            len(run.logs),
            run.end_reason,
        )
        groups[key].append(e.pk)
    for (state, step, due_at, moved, taken, reason), ids in groups.items():
        values: dict = {
            "state": state,
            "step": step,
            "due_at": due_at,
            "steps_taken": F("steps_taken") + taken,
        }
        if moved:
            values["step_started_at"] = now
        if state != Enrolment.State.ACTIVE:
            values.update(ended_at=now, end_reason=reason)
        Enrolment.objects.filter(pk__in=ids).update(**values)
    if connection.vendor == "postgresql":
        # One JSON document instead of Django quoting a placeholder per value (the sweep's largest cost).
        for start in range(0, len(logs), 5000):
            store.insert_rows(StepLog, logs[start : start + 5000])
    else:
        StepLog.objects.bulk_create([StepLog(**row) for row in logs], batch_size=2000)
    moves: dict[tuple[int, str], int] = defaultdict(int)
    for run in runs:
        e = run.enrolment
        after = run.step if run.state == Enrolment.State.ACTIVE else None
        if (e.step or None) != after:
            if e.step:
                moves[(e.version_id, e.step)] -= 1
            if after:
                moves[(e.version_id, after)] += 1
    steps_add(deltas=moves)
    # The per-day counters are added here, in the sweep's (or the event handler's) transaction, and not when
    # a CRM change or a segment move enrols: those transactions then never wait on a counter row that a
    # sweeper holding their enrolment rows also needs. An entry is counted on its entry's day.
    counts: dict[tuple[int, datetime.date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for run in runs:
        journey_id = run.enrolment.journey_id
        if any(kind == StepLog.Kind.ENTERED for _step, kind, _summary in run.logs):
            counts[(journey_id, timezone.localdate(run.enrolment.entered_at))]["entered"] += 1
        if run.state != Enrolment.State.ACTIVE:
            counts[(journey_id, timezone.localdate(now))][run.state] += 1
    for (journey_id, day), deltas in sorted(counts.items()):
        days_add(journey_id=journey_id, day=day, **deltas)
    converted = [r for r in runs if r.state == Enrolment.State.CONVERTED]
    if converted:
        from ..webhooks.services import events_record

        events_record(
            topic="journey.converted",
            items=[
                (
                    f"journey:{r.enrolment.journey_id}:profile:{r.enrolment.profile_id}",
                    {
                        "id": r.enrolment.pk,
                        "journey": r.enrolment.journey_id,
                        "version": r.enrolment.version_id,
                        "profile": r.enrolment.profile_id,
                        "state": r.state,
                        "entered_at": r.enrolment.entered_at.isoformat(),
                        "ended_at": now.isoformat(),
                    },
                )
                for r in converted
            ],
            now=now,
        )
    return len(runs)
