"""Reads of journeys: the diagram's counts, entered/converted/exited per day, a profile's paths."""

import datetime
from collections import defaultdict

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from common.params import datetime_param

from .definition import STEP_TYPES, step_summary
from .models import Enrolment, Journey, JourneyDay, StepLog

DAYS = 30


def journey_enrolments(*, journey: Journey):
    return Enrolment.objects.filter(journey=journey).select_related("version").order_by("-entered_at", "-id")


def journey_diagram(*, journey: Journey) -> tuple[list[dict], int]:
    """The live version's steps in order with how many profiles are at each now (one aggregate query on the
    (version, state, step) index), and how many are entering (not at a step yet)."""
    version = journey.live_version
    if version is None:
        return [], 0
    counts = dict(
        Enrolment.objects.filter(version=version, state=Enrolment.State.ACTIVE)
        .values("step")
        .annotate(n=Count("id"))
        .values_list("step", "n")
    )
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
                "here": counts.get(step["id"], 0),
                "links": [(label, target or "end") for label, target in links],
            }
        )
    return steps, counts.get("", 0)


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
