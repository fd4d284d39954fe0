"""PostgreSQL fast paths of batch processing.

Each statement takes arrays as parameters and runs on a server-side-binding cursor, so its text is the
same whatever the batch size: psycopg parses it once and PostgreSQL prepares it, instead of re-splitting
a query with hundreds of placeholders for every batch. SQLite uses the ORM equivalents.
"""

from collections.abc import Sequence
from datetime import datetime

import psycopg
from django.db import connection
from psycopg.types.json import Jsonb


def _cursor() -> psycopg.Cursor:
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def identities_load(*, kinds: Sequence[str], values: Sequence[str]) -> list[tuple[str, str, int]]:
    with _cursor() as cursor:
        cursor.execute(
            "SELECT i.kind, i.value, i.profile_id FROM profiles_identity AS i "
            "JOIN unnest(%s::text[], %s::text[]) AS w(kind, value) ON i.kind = w.kind AND i.value = w.value",
            [list(kinds), list(values)],
        )
        return cursor.fetchall()


def profiles_insert(*, count: int) -> list[int]:
    with _cursor() as cursor:
        cursor.execute(
            "INSERT INTO profiles_profile (traits, created_at, updated_at) "
            "SELECT '{}'::jsonb, now(), now() FROM generate_series(1, %s) RETURNING id",
            [count],
        )
        return [row[0] for row in cursor.fetchall()]


def identities_insert(*, kinds: Sequence[str], values: Sequence[str], profile_ids: Sequence[int]) -> None:
    with _cursor() as cursor:
        cursor.execute(
            "INSERT INTO profiles_identity (kind, value, profile_id, created_at) "
            "SELECT k, v, p, now() FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS t(k, v, p) "
            "ON CONFLICT (kind, value) DO NOTHING",
            [list(kinds), list(values), list(profile_ids)],
        )


def event_message_ids_existing(*, source_id: int, message_ids: Sequence[str]) -> set[str]:
    with _cursor() as cursor:
        cursor.execute(
            "SELECT message_id FROM profiles_event WHERE source_id = %s AND message_id = ANY(%s::text[])",
            [source_id, list(message_ids)],
        )
        return {row[0] for row in cursor.fetchall()}


PROFILES_TOUCH_SQL = """
UPDATE profiles_profile AS p SET
    first_seen = LEAST(p.first_seen, v.first_seen),
    last_seen = GREATEST(p.last_seen, v.last_seen),
    traits = CASE WHEN v.email <> '' AND NOT (p.traits ? 'email') AND NOT (v.traits ? 'email')
                  THEN jsonb_build_object('email', v.email) ELSE '{}'::jsonb END || p.traits || v.traits,
    updated_at = now()
FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::jsonb[], %s::text[])
    AS v(id, first_seen, last_seen, traits, email)
WHERE p.id = v.id
"""


def profiles_touch(
    *,
    ids: Sequence[int],
    first_seen: Sequence[datetime],
    last_seen: Sequence[datetime],
    traits: Sequence[dict],
    emails: Sequence[str],
) -> None:
    """Merge traits and widen seen times; rows are locked in id order first so workers cannot deadlock."""
    with _cursor() as cursor:
        cursor.execute(
            "SELECT id FROM profiles_profile WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE", [list(ids)]
        )
        cursor.execute(
            PROFILES_TOUCH_SQL,
            [list(ids), list(first_seen), list(last_seen), [Jsonb(t) for t in traits], list(emails)],
        )
