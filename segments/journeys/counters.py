"""The counters of journeys, added to by the transactions that run entries, steps and ends (the sweeper and
the event handler): per day (JourneyDay: entered, completed, converted, exited) and per step (StepCount: how
many active enrolments of a version are at each step). Both are upserts in a fixed order (step counters by
(version, step), then days by (journey, day)), so two sweepers wait for each other but never deadlock.
"""

import datetime

from django.db import connection, transaction
from django.db.models import Count

from .models import Enrolment, JourneyDay, StepCount

COLUMNS = ("entered", "completed", "converted", "exited")


def days_add(*, journey_id: int, day: datetime.date, **deltas: int) -> None:
    """Add `deltas` (entered=, completed=, converted=, exited=) to the journey's row for `day`: one upsert
    (INSERT ... ON CONFLICT DO UPDATE, the same text on SQLite and PostgreSQL)."""
    deltas = {k: v for k, v in deltas.items() if v}
    if not deltas:
        return
    unknown = set(deltas) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown counters {sorted(unknown)}")
    values = [deltas.get(c, 0) for c in COLUMNS]
    table = JourneyDay._meta.db_table
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in COLUMNS if c in deltas)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (journey_id, day, {', '.join(COLUMNS)}) VALUES (%s, %s, %s, %s, %s, %s) "  # noqa: S608 (names are constants)
            f"ON CONFLICT (journey_id, day) DO UPDATE SET {updates}",
            [journey_id, day, *values],
        )


def steps_add(*, deltas: dict[tuple[int, str], int]) -> None:
    """Add to the active count of (version id, step id); one upsert per changed step."""
    table = StepCount._meta.db_table
    with connection.cursor() as cursor:
        for (version_id, step), delta in sorted(deltas.items()):
            if delta:
                cursor.execute(
                    f"INSERT INTO {table} (version_id, step, active) VALUES (%s, %s, %s) "  # noqa: S608 (constant)
                    f"ON CONFLICT (version_id, step) DO UPDATE SET active = {table}.active + excluded.active",
                    [version_id, step, delta],
                )


def step_counts_reconcile(*, version_id: int) -> dict[str, int]:
    """Recount a version's step counters from its enrolments (drift: profiles deleted with their enrolments).
    The counter rows are locked first, so a sweeper moving enrolments meanwhile adds its deltas after this
    count (which did not see its uncommitted moves) and nothing is counted twice. One GROUP BY on the
    (version, state, step) index: hourly upkeep, not a page."""
    with transaction.atomic():
        list(
            StepCount.objects.select_for_update().filter(version_id=version_id).order_by("step").values("pk")
        )
        counts = dict(
            Enrolment.objects.filter(version_id=version_id, state=Enrolment.State.ACTIVE)
            .exclude(step="")
            .values("step")
            .annotate(n=Count("id"))
            .order_by()
            .values_list("step", "n")
        )
        StepCount.objects.filter(version_id=version_id).exclude(step__in=list(counts)).update(active=0)
        for step, n in sorted(counts.items()):
            updated = StepCount.objects.filter(version_id=version_id, step=step).update(active=n)
            if not updated:
                steps_add(deltas={(version_id, step): n})
    return counts
