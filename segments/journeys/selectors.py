"""Reads of journeys: the diagram's counts, entered/converted/exited per day, a profile's paths."""

import datetime
from collections import defaultdict

from django.db.models import Exists, OuterRef, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from common.params import datetime_param

from .definition import STEP_TYPES, definition_segment_refs, step_summary
from .models import Enrolment, Journey, JourneyDay, JourneyVersion, StepCount, StepLog

DAYS = 30


def _definitions_in_use() -> tuple[dict[int, str], list[tuple[int, dict]]]:
    """Journey names, and (journey id, definition) of every working copy, live version and version profiles
    still run on; two queries over journeys and versions (a few rows)."""
    names = dict(Journey.objects.values_list("pk", "name"))
    definitions = list(Journey.objects.values_list("pk", "definition"))
    definitions += list(
        JourneyVersion.objects.filter(
            Exists(Enrolment.objects.filter(version=OuterRef("pk"), state=Enrolment.State.ACTIVE))
            | Q(pk__in=Journey.objects.filter(live_version__isnull=False).values("live_version"))
        ).values_list("journey_id", "definition")
    )
    return names, definitions


def journeys_using_segments(segment_ids: set[int]) -> dict[int, list[str]]:
    """segment id -> the journeys that use it (trigger, branch, goal or exit) in their working copy, their
    live version or a version profiles still run on."""
    wanted = set(segment_ids)
    users: dict[int, dict[int, str]] = {pk: {} for pk in wanted}
    names, definitions = _definitions_in_use()
    for journey_id, definition in definitions:
        for segment_id in definition_segment_refs(definition) & wanted:
            users[segment_id][journey_id] = f"Journey “{names[journey_id]}”"
    return {pk: sorted(found.values()) for pk, found in users.items()}


def journeys_sending_with(kind: str, pk: int) -> list[str]:
    """The journeys whose e-mail steps send with the "template" or "mailbox" `pk` (contacts.mail asks before
    deleting one)."""
    names, definitions = _definitions_in_use()
    found = {
        journey_id
        for journey_id, definition in definitions
        for step in (definition or {}).get("steps") or []
        if isinstance(step, dict) and step.get("type") == "send_email" and step.get(kind) == pk
    }
    return sorted(f"Journey “{names[j]}”" for j in found)


def journey_enrolments(*, journey: Journey):
    return Enrolment.objects.filter(journey=journey).select_related("version").order_by("-entered_at", "-id")


ENTERING_CAP = 1000


def journey_diagram(*, journey: Journey) -> tuple[list[dict], int]:
    """The live version's steps in order with how many profiles are at each now (the StepCount rows, one
    query), and how many are entering (not at a step yet: due at once, so a few; counted up to ENTERING_CAP
    on the (version, state, step) index)."""
    version = journey.live_version
    if version is None:
        return [], 0
    counts = dict(StepCount.objects.filter(version=version).values_list("step", "active"))
    entering = Enrolment.objects.filter(version=version, state=Enrolment.State.ACTIVE, step="")[
        :ENTERING_CAP
    ].count()
    steps = []
    for step in version.definition["steps"]:
        links = [(key, step.get(key)) for key in STEP_TYPES[step["type"]][1]]
        if step["type"] == "split":
            links = [(f"{p['percent']} %", p.get("next")) for p in step["paths"]]
        steps.append(
            {
                "id": step["id"],
                "type": step["type"],
                "kind_label": STEP_TYPES[step["type"]][0],
                "summary": step_summary(step),
                "here": max(0, counts.get(step["id"], 0)),
                "links": [(label, target or "end") for label, target in links],
            }
        )
    return steps, entering


def journey_totals(*, journey: Journey, waiting_to_start: int = 0) -> dict:
    """Entered, ended and in-the-journey counts from the per-day counters (one query)."""
    sums = JourneyDay.objects.filter(journey=journey).aggregate(
        entered=Coalesce(Sum("entered"), 0),
        completed=Coalesce(Sum("completed"), 0),
        converted=Coalesce(Sum("converted"), 0),
        exited=Coalesce(Sum("exited"), 0),
    )
    sums["active"] = max(0, sums["entered"] - sums["completed"] - sums["converted"] - sums["exited"])
    sums["waiting_to_start"] = waiting_to_start
    return sums


def journey_over_time(*, journey: Journey, days: int = DAYS, now: datetime.datetime | None = None) -> dict:
    """Entered, converted and exited per day for the last `days` days (the counters' rows: one query)."""
    today = timezone.localdate(now or timezone.now())
    labels = [today - datetime.timedelta(days=days - 1 - i) for i in range(days)]
    rows = {
        row.day: row for row in JourneyDay.objects.filter(journey=journey, day__gte=labels[0], day__lte=today)
    }
    return {
        "labels": [d.isoformat() for d in labels],
        "entered": [rows[d].entered if d in rows else 0 for d in labels],
        "converted": [rows[d].converted if d in rows else 0 for d in labels],
        "exited": [rows[d].exited if d in rows else 0 for d in labels],
    }


def journey_enrolments_page(
    *, journey: Journey, before: str | None, limit: int = 25
) -> tuple[list, str | None]:
    """The newest enrolments after the keyset cursor "<entered_at ISO>|<id>" (no COUNT over the table)."""
    rows = journey_enrolments(journey=journey).select_related("profile")
    if before:
        try:
            stamp, pk = before.rsplit("|", 1)
            at = datetime_param(stamp)
            if at is not None and at.tzinfo is not None:
                rows = rows.filter(Q(entered_at__lt=at) | Q(entered_at=at, id__lt=int(pk)))
        except ValueError:
            pass
    page = list(rows[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    cursor = f"{page[-1].entered_at.isoformat()}|{page[-1].pk}" if more and page else None
    return page, cursor


def profile_paths(*, profile_id: int, limit: int = 10) -> list[dict]:
    """The profile's latest enrolments with their path lines (two queries)."""
    enrolments = list(
        Enrolment.objects.filter(profile_id=profile_id)
        .select_related("journey", "version")
        .order_by("-entered_at", "-id")[:limit]
    )
    lines: dict[int, list[StepLog]] = defaultdict(list)
    for line in StepLog.objects.filter(enrolment__in=[e.pk for e in enrolments]).order_by("sequence"):
        lines[line.enrolment_id].append(line)
    return [{"enrolment": e, "lines": lines[e.pk]} for e in enrolments]
