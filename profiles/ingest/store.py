"""PostgreSQL fast paths of batch processing.

Each statement takes arrays as parameters and runs on a server-side-binding cursor, so its text is the
same whatever the batch size: psycopg parses it once and PostgreSQL prepares it, instead of re-splitting
a query with hundreds of placeholders for every batch. SQLite uses the ORM equivalents.
"""

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import orjson
import psycopg
from django.db import connection, models


@contextmanager
def _cursor() -> Iterator[psycopg.Cursor]:
    """A plain psycopg cursor on Django's connection; errors come out as Django's (OperationalError...),
    so callers and task retries treat them as they treat the ORM's."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def event_message_ids_existing(*, source_id: int, message_ids: Sequence[str]) -> set[str]:
    with _cursor() as cursor:
        cursor.execute(
            "SELECT message_id FROM profiles_event WHERE source_id = %s "
            "AND message_id IN (SELECT json_array_elements_text(%s::json))",
            [source_id, json_text(list(message_ids))],
        )
        return {row[0] for row in cursor.fetchall()}


def identities_owned(*, kinds: Sequence[str], values: Sequence[str]) -> list[tuple[str, str, int]]:
    """(kind, value, profile id) of the stored identities among these pairs, on the (kind, value) index."""
    with _cursor() as cursor:
        cursor.execute(
            # One JSON document: psycopg quotes text-array elements one by one in Python.
            "SELECT i.kind, i.value, i.profile_id FROM profiles_identity AS i "
            "JOIN json_to_recordset(%s::json) AS v(k text, v text) ON i.kind = v.k AND i.value = v.v",
            [json_text([{"k": k, "v": v} for k, v in zip(kinds, values, strict=True)])],
        )
        return cursor.fetchall()


def identity_values_of(*, profile_ids: Sequence[int], kind: str) -> list[tuple[int, str]]:
    """(profile id, value) of these profiles' identities of one kind."""
    with _cursor() as cursor:
        cursor.execute(
            "SELECT profile_id, value FROM profiles_identity WHERE kind = %s AND profile_id = ANY(%s::bigint[])",
            [kind, list(profile_ids)],
        )
        return cursor.fetchall()


def rows_locked(model: type[models.Model], ids: Sequence[int]) -> list[models.Model]:
    """Model instances for these ids, row-locked in id order, with one array parameter.

    The lock is FOR NO KEY UPDATE: it excludes other writers of the rows but not the foreign-key checks
    of rows that reference them (another worker storing events of these profiles does not wait).
    JSON columns come back as text and are decoded once here, which is several times cheaper than
    psycopg's per-value jsonb loading for thousands of rows.
    """
    fields = model._meta.concrete_fields
    json_at = {i for i, f in enumerate(fields) if isinstance(f, models.JSONField)}
    columns = ", ".join(f'"{f.column}"' + ("::text" if i in json_at else "") for i, f in enumerate(fields))
    attnames = [f.attname for f in fields]
    table = model._meta.db_table  # names come from the model's metadata; values are bound
    query = (
        f"SELECT {columns} FROM {table} WHERE id = ANY(%s::bigint[]) "  # noqa: S608
        "ORDER BY id FOR NO KEY UPDATE"
    )
    with _cursor() as cursor:
        # Binary results skip Django's Python-level timestamptz text loader (C loaders, same UTC datetimes).
        cursor.execute(query, [list(ids)], binary=True)
        rows = cursor.fetchall()
    return [
        model.from_db(
            connection.alias,
            attnames,
            [json_parse(v) if i in json_at and v is not None else v for i, v in enumerate(row)],
        )
        for row in rows
    ]


def fetch(query: str, params) -> list[tuple]:
    """Run one statement and return its rows."""
    with _cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def bulk_update(objs: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Django's `bulk_update(objs, fields)` in one statement: on PostgreSQL an UPDATE from one JSON document.

    Django builds a CASE per row and column, and binding an array per column makes psycopg quote every
    element in Python; one orjson document parsed by PostgreSQL (`json_to_recordset`) is several times
    cheaper for thousands of rows. Column types come from the model's fields.
    """
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, fields)
        return
    meta = model._meta
    targets = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f'"{f.column}" = v."{f.column}"' for f in targets)
    definition = ", ".join(["id bigint", *(f'"{f.column}" {f.db_type(connection)}' for f in targets)])
    query = (
        f"UPDATE {meta.db_table} AS t SET {assignments} "  # noqa: S608 (names from model metadata; values bound)
        f"FROM json_to_recordset(%s::json) AS v({definition}) WHERE t.id = v.id"
    )
    records = [{"id": obj.pk, **{f.column: getattr(obj, f.attname) for f in targets}} for obj in objs]
    with _cursor() as cursor:
        cursor.execute(query, [json_text(records)])


def insert_rows(model: type[models.Model], rows: Sequence[dict]) -> list[int]:
    """INSERT these rows (dicts of field names or attnames -> values) in one statement; their new ids in
    order. Same idea as bulk_update: one orjson document instead of Django building and quoting a
    placeholder per value (building 15,000 model instances and their parameters took longer than the
    INSERTs themselves for a group of 5,000 new customers). Column types come from the model's fields.
    """
    if not rows:
        return []
    meta = model._meta
    fields = [meta.get_field(name) for name in rows[0]]
    pairs = [(f.column, name) for f, name in zip(fields, rows[0], strict=True)]
    names = ", ".join(f'"{f.column}"' for f in fields)
    definition = ", ".join(f'"{f.column}" {f.db_type(connection)}' for f in fields)
    query = (
        f"INSERT INTO {meta.db_table} ({names}) SELECT {names} "  # noqa: S608 (names from model metadata)
        f"FROM ROWS FROM (json_to_recordset(%s::json) AS ({definition})) WITH ORDINALITY AS v({names}, n) "
        "ORDER BY n RETURNING id"
    )
    with _cursor() as cursor:
        cursor.execute(query, [json_text([{column: row[name] for column, name in pairs} for row in rows])])
        # A sequence hands out ids in insertion order, which follows the document's order.
        return sorted(row[0] for row in cursor.fetchall())


def _json_default(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_text(value) -> str:
    """JSON for PostgreSQL: orjson (several times faster); the standard library for what orjson refuses
    (integers beyond 64 bits, which json.loads accepts from a client)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, default=_json_default)


def json_parse(text: str):
    """Parse a stored request body: orjson, or the standard library for what orjson refuses."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
