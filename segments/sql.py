"""PostgreSQL statements of segment evaluation that the ORM cannot express: the one-statement recompute."""

import datetime

from django.db import connection

# The rule is evaluated once (MATERIALIZED) and both differences are applied in one statement, so no
# profile id travels to Python except those that moved. Sub-statements of a WITH share one snapshot, so
# the INSERT's "not a member yet" sees the memberships before the UPDATE closes some (a profile closed
# by the UPDATE is not matching, so it is never inserted again in the same statement).
RECOMPUTE = """
WITH matching AS MATERIALIZED ({matching}),
exited AS (
    UPDATE segments_membership m SET exited_at = %s
    WHERE m.segment_id = %s AND m.exited_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM matching WHERE matching.pk = m.profile_id)
    RETURNING m.profile_id
),
entered AS (
    INSERT INTO segments_membership (segment_id, profile_id, entered_at)
    SELECT %s, matching.pk, %s FROM matching
    WHERE NOT EXISTS (
        SELECT 1 FROM segments_membership m
        WHERE m.segment_id = %s AND m.exited_at IS NULL AND m.profile_id = matching.pk
    )
    RETURNING profile_id
)
SELECT true, profile_id FROM entered UNION ALL SELECT false, profile_id FROM exited
"""


def memberships_recompute(
    *, segment_id: int, matching, now: datetime.datetime
) -> tuple[list[int], list[int]]:
    """Apply `matching` (a Profile queryset) to the open memberships of a segment; (entered, exited) ids.

    Runs inside the caller's transaction. JIT compilation is switched off for it: the statement runs in
    a fraction of a second, and compiling its expressions cost a fifth of that at 100,000 profiles.
    """
    matching_sql, params = matching.values("pk").query.sql_with_params()
    entered: list[int] = []
    exited: list[int] = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        # Placeholders in the order they appear: the rule's, then exited (now, segment), entered (segment,
        # now, segment).
        statement = RECOMPUTE.replace("{matching}", matching_sql)
        cursor.execute(statement, [*params, now, segment_id, segment_id, now, segment_id])
        for is_entry, profile_id in cursor.fetchall():
            (entered if is_entry else exited).append(profile_id)
    return sorted(entered), sorted(exited)
