"""The database side of the ingest path: every PostgreSQL/SQLite difference of ingestion and resolution is here.

On PostgreSQL each statement takes arrays or one JSON document as parameters and runs on a
server-side-binding cursor, so its text is the same whatever the batch size: psycopg parses it once and
PostgreSQL prepares it, instead of re-splitting a query with hundreds of placeholders for every batch;
events are written with COPY. SQLite (one writer at a time) uses the ORM equivalents and needs no locks
against other workers: `concurrent_writers()` is the one question domain code asks.
"""

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import orjson
import psycopg
from django.db import connection, models
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from ..models import Event, Identity, Profile, Source


def sqlite_variable_limit_raise(sender, connection, **kwargs) -> None:
    """On each new SQLite connection (connection_created): allow SQLite's real number of parameters."""
    # Django 5.2 assumes SQLite's old 999-variable limit and splits bulk inserts; SQLite >= 3.32 allows
    # 32766, so one ingest batch stays one INSERT (a fixed number of queries per batch).
    if connection.vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 32):
        connection.features.max_query_params = 32766


def concurrent_writers() -> bool:
    """Whether other workers write at the same time (PostgreSQL): batches are grouped and claimed with SKIP
    LOCKED, new identifiers take advisory locks, quiet profiles are folded outside the row locks. SQLite
    has one writer: batches go one by one and nothing is locked against another worker."""
    return connection.vendor == "postgresql"


@contextmanager
def _cursor() -> Iterator[psycopg.Cursor]:
    """A plain psycopg cursor on Django's connection; errors come out as Django's (OperationalError...),
    so callers and task retries treat them as they treat the ORM's."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def event_message_ids_existing(*, source_id: int, message_ids: Sequence[str]) -> set[str]:
    """The messageIds among these that the source already stored."""
    if not message_ids:
        return set()
    if not concurrent_writers():
        return set(
            Event.objects.filter(source_id=source_id, message_id__in=message_ids).values_list(
                "message_id", flat=True
            )
        )
    with _cursor() as cursor:
        cursor.execute(
            "SELECT message_id FROM profiles_event WHERE source_id = %s "
            "AND message_id IN (SELECT json_array_elements_text(%s::json))",
            [source_id, json_text(list(message_ids))],
        )
        return {row[0] for row in cursor.fetchall()}


def identities_owned(*, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """(kind, value) -> profile id of the stored identities among these pairs, on the (kind, value) index."""
    by_kind: dict[str, set[str]] = {}
    for kind, value in pairs:
        by_kind.setdefault(kind, set()).add(value)
    if not by_kind:
        return {}
    if not concurrent_writers():
        condition = Q()
        for kind, values in sorted(by_kind.items()):
            condition |= Q(kind=kind, value__in=sorted(values))
        rows = Identity.objects.filter(condition).values_list("kind", "value", "profile_id")
        return {(kind, value): profile_id for kind, value, profile_id in rows}
    kinds, values = zip(*[(kind, value) for kind, vs in by_kind.items() for value in vs], strict=True)
    with _cursor() as cursor:
        cursor.execute(
            # One JSON document: psycopg quotes text-array elements one by one in Python.
            "SELECT i.kind, i.value, i.profile_id FROM profiles_identity AS i "
            "JOIN json_to_recordset(%s::json) AS v(k text, v text) ON i.kind = v.k AND i.value = v.v",
            [json_text([{"k": k, "v": v} for k, v in zip(kinds, values, strict=True)])],
        )
        return {(kind, value): profile_id for kind, value, profile_id in cursor.fetchall()}


def identity_values_of(*, profile_ids: Sequence[int], kind: str) -> list[tuple[int, str]]:
    """(profile id, value) of these profiles' identities of one kind."""
    if not profile_ids:
        return []
    if not concurrent_writers():
        return list(
            Identity.objects.filter(profile_id__in=profile_ids, kind=kind).values_list("profile_id", "value")
        )
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
    if not concurrent_writers():
        return list(model.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
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
    if not concurrent_writers():
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


def identifier_lock_key(identifier: tuple[str, str]) -> int:
    digest = hashlib.blake2b(f"{identifier[0]}\x00{identifier[1]}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def identifiers_lock(identifiers: Iterable[tuple[str, str]]) -> None:
    """Transaction-level advisory locks on these identifiers, sorted (two workers never deadlock on them),
    in one statement; nothing on SQLite, whose one writer cannot race another."""
    keys = sorted({identifier_lock_key(identifier) for identifier in identifiers})
    if not keys or not concurrent_writers():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest(%s::bigint[]) AS k ORDER BY 1) AS s",
            [keys],
        )


def profiles_create(count: int) -> list[Profile]:
    """`count` new, empty profiles, in creation order (ascending ids)."""
    if not count:
        return []
    if not concurrent_writers():
        return Profile.objects.bulk_create([Profile() for _ in range(count)])
    now = timezone.now()
    empty = {"traits": {}, "trait_times": {}, "computed_traits": {}, "created_at": now, "updated_at": now}
    ids = insert_rows(Profile, [empty] * count)
    # from_db with every field in order takes Model.__init__'s positional fast path.
    attnames = [f.attname for f in Profile._meta.concrete_fields]
    json_fields = {"traits", "trait_times", "computed_traits"}

    def value(attname: str, pk: int):
        if attname == "id":
            return pk
        return {} if attname in json_fields else empty.get(attname)  # a fresh dict per profile

    return [Profile.from_db(None, attnames, [value(a, pk) for a in attnames]) for pk in ids]


def identities_create(rows: list[tuple[str, str, int]]) -> None:
    """Store (kind, value, profile id) identities; one that another worker stored meanwhile fails the
    transaction on the unique constraint (the task retries) except on SQLite, which has one writer."""
    if not rows:
        return
    if not concurrent_writers():
        Identity.objects.bulk_create(
            [Identity(kind=k, value=v, profile_id=p) for k, v, p in rows], ignore_conflicts=True
        )
        return
    now = timezone.now()
    insert_rows(Identity, [{"kind": k, "value": v, "profile_id": p, "created_at": now} for k, v, p in rows])


EVENT_COLUMNS = (
    "source_id",
    "batch_id",
    "profile_id",
    "message_id",
    "type",
    "name",
    "category",
    "user_id",
    "anonymous_id",
    "group_id",
    "previous_id",
    "timestamp",
    "original_timestamp",
    "sent_at",
    "received_at",
    "properties",
    "traits",
    "context",
    "integrations",
)


def events_write(rows: Sequence[tuple]) -> None:
    """Insert event rows (tuples in EVENT_COLUMNS order): a COPY on PostgreSQL (several times cheaper
    than a parameterised INSERT of the same rows), one bulk INSERT on SQLite. A messageId stored by a
    concurrent batch since the caller's check aborts the transaction on the unique constraint."""
    if not rows:
        return
    if not concurrent_writers():
        Event.objects.bulk_create(
            [Event(**dict(zip(EVENT_COLUMNS, row, strict=True))) for row in rows], ignore_conflicts=True
        )
        return
    json_at = range(len(EVENT_COLUMNS) - 4, len(EVENT_COLUMNS))
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY profiles_event ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([json_text(value) if i in json_at else value for i, value in enumerate(row)])


def source_counters_add(*, source_id: int, accepted: int, rejected: int, latest) -> None:
    """Add to a source's event counters and move its last event time forward (never back)."""
    Source.objects.filter(pk=source_id).update(
        events_accepted=F("events_accepted") + accepted,
        events_rejected=F("events_rejected") + rejected,
        # SQLite's MAX() of a NULL is NULL, so there the time of the group is taken as it is.
        last_event_at=Greatest(F("last_event_at"), latest) if concurrent_writers() else latest,
    )


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
