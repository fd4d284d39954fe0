"""Reads of journeys: the diagram's counts, entered/converted/exited per day, a profile's paths."""

import datetime
from collections import defaultdict

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from .definition import STEP_TYPES, step_summary
from .models import Enrolment, Journey, StepLog

DAYS = 30


def journey_enrolments(*, journey: Journey):
    return Enrolment.objects.filter(journey=journey).select_related("version").order_by("-entered_at", "-id")


def journey_diagram(*, journey: Journey) -> list[dict]:
    """The live version's steps in order with how many profiles are at each now (one aggregate query)."""
    version = journey.live_version
    if version is None:
        return []
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
    return steps


def journey_totals(*, journey: Journey) -> dict:
    rows = Enrolment.objects.filter(journey=journey).aggregate(
        entered=Count("id"),
        active=Count("id", filter=Q(state=Enrolment.State.ACTIVE)),
        converted=Count("id", filter=Q(state=Enrolment.State.CONVERTED)),
        exited=Count("id", filter=Q(state=Enrolment.State.EXITED)),
        completed=Count("id", filter=Q(state=Enrolment.State.COMPLETED)),
        waiting_to_start=Count("id", filter=Q(state=Enrolment.State.ACTIVE, step="")),
    )
    return rows


def journey_over_time(*, journey: Journey, days: int = DAYS, now: datetime.datetime | None = None) -> dict:
    """Entered, converted and exited per day for the last `days` days (three indexed aggregates)."""
    now = now or timezone.now()
    since = now - datetime.timedelta(days=days)
    series: dict[str, dict] = defaultdict(dict)
    entered = (
        Enrolment.objects.filter(journey=journey, entered_at__gte=since)
        .annotate(day=TruncDate("entered_at"))
        .values("day")
        .annotate(n=Count("id"))
    )
    for row in entered:
        series["entered"][row["day"]] = row["n"]
    ended = (
        Enrolment.objects.filter(journey=journey, ended_at__gte=since, state__in=["converted", "exited"])
        .annotate(day=TruncDate("ended_at"))
        .values("day", "state")
        .annotate(n=Count("id"))
    )
    for row in ended:
        series[row["state"]][row["day"]] = row["n"]
    labels = [(since + datetime.timedelta(days=i + 1)).date() for i in range(days)]
    return {
        "labels": [d.isoformat() for d in labels],
        "entered": [series["entered"].get(d, 0) for d in labels],
        "converted": [series["converted"].get(d, 0) for d in labels],
        "exited": [series["exited"].get(d, 0) for d in labels],
    }


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
