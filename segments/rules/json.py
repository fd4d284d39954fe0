"""Typed reads of one key of a JSON column, the same on SQLite and PostgreSQL.

Each extractor yields the value only when the JSON value has the wanted type, else NULL, so a
comparison never mixes a string with a number (the two databases order mixed JSON types differently).
"""

import json

from django.db.models import BooleanField, Expression, FloatField, TextField
from django.db.models.lookups import Exact, In


class _JsonKey(Expression):
    json_types: tuple[str, ...] = ()

    def __init__(self, column: Expression, key: str, output_field=None):
        super().__init__(output_field=output_field or self.output_field_class())
        self.column = column
        self.key = key

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_postgresql(self, compiler, connection):
        col, params = compiler.compile(self.column)
        value = self.pg_value(col)
        sql = f"(CASE WHEN jsonb_typeof(({col}) -> %s) = %s THEN {value} END)"
        return sql, (*params, self.key, self.pg_type, *params, self.key)

    def as_sqlite(self, compiler, connection):
        col, params = compiler.compile(self.column)
        path = '$."' + self.key.replace('"', "") + '"'
        types = ", ".join(["%s"] * len(self.sqlite_types))
        value = self.sqlite_value(col)
        sql = f"(CASE WHEN json_type({col}, %s) IN ({types}) THEN {value} END)"
        return sql, (*params, path, *self.sqlite_types, *params, path)


class JsonText(_JsonKey):
    output_field_class = TextField
    pg_type = "string"
    sqlite_types = ("text",)

    def pg_value(self, col):
        return f"(({col}) ->> %s)"

    def sqlite_value(self, col):
        return f"json_extract({col}, %s)"


class JsonNumber(_JsonKey):
    output_field_class = FloatField
    pg_type = "number"
    sqlite_types = ("integer", "real")

    def pg_value(self, col):
        return f"((({col}) ->> %s)::double precision)"

    def sqlite_value(self, col):
        return f"CAST(json_extract({col}, %s) AS REAL)"


class JsonBool(_JsonKey):
    output_field_class = BooleanField
    pg_type = "boolean"
    sqlite_types = ("true", "false")

    def pg_value(self, col):
        return f"((({col}) ->> %s) = 'true')"

    def sqlite_value(self, col):
        return f"(json_extract({col}, %s) = 1)"


class JsonPresent(_JsonKey):
    """True when the key exists with a non-null value."""

    output_field_class = BooleanField

    def as_postgresql(self, compiler, connection):
        col, params = compiler.compile(self.column)
        return f"(COALESCE(jsonb_typeof(({col}) -> %s), 'null') <> 'null')", (*params, self.key)

    def as_sqlite(self, compiler, connection):
        col, params = compiler.compile(self.column)
        path = '$."' + self.key.replace('"', "") + '"'
        return f"(COALESCE(json_type({col}, %s), 'null') <> 'null')", (*params, path)


class JsonIs(Expression):
    """True when one key of a JSON column equals one of `values` with the same JSON type ("5" is not 5).

    On PostgreSQL this is plain jsonb equality, `(col -> key) IN ('"gold"'::jsonb, ...)`: type-exact by
    itself, and a predicate the planner estimates far better than the typed CASE of the other extractors.
    SQLite compares the typed extractor, as the other operators do.
    """

    output_field = BooleanField()

    def __init__(self, column: Expression, key: str, values: list):
        super().__init__()
        self.column, self.key, self.values = column, key, list(values)

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_postgresql(self, compiler, connection):
        col, params = compiler.compile(self.column)
        literals = ", ".join(["%s::jsonb"] * len(self.values))
        return f"(({col}) -> %s) IN ({literals})", (*params, self.key, *(json.dumps(v) for v in self.values))

    def as_sql(self, compiler, connection):
        first = self.values[0]
        typed = (
            JsonBool
            if isinstance(first, bool)
            else JsonNumber
            if isinstance(first, int | float)
            else JsonText
        )
        extracted = typed(self.column, self.key)
        lookup = Exact(extracted, first) if len(self.values) == 1 else In(extracted, self.values)
        return compiler.compile(lookup)
