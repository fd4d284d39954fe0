"""The per-day counters of journeys (JourneyDay), added to by the transaction that runs an entry or an end."""

import datetime

from django.db import connection

from .models import JourneyDay

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
