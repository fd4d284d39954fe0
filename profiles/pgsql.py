"""PostgreSQL fast paths of batch processing.

Each statement takes arrays as parameters and runs on a server-side-binding cursor, so its text is the
same whatever the batch size: psycopg parses it once and PostgreSQL prepares it, instead of re-splitting
a query with hundreds of placeholders for every batch. SQLite uses the ORM equivalents.
"""

from collections.abc import Sequence

import psycopg
from django.db import connection


def _cursor() -> psycopg.Cursor:
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def event_message_ids_existing(*, source_id: int, message_ids: Sequence[str]) -> set[str]:
    with _cursor() as cursor:
        cursor.execute(
            "SELECT message_id FROM profiles_event WHERE source_id = %s AND message_id = ANY(%s::text[])",
            [source_id, list(message_ids)],
        )
        return {row[0] for row in cursor.fetchall()}
