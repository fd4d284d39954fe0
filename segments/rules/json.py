"""Typed reads of one key of a JSON column, the same on SQLite and PostgreSQL.

Each extractor yields the value only when the JSON value has the wanted type, else NULL, so a
comparison never mixes a string with a number (the two databases order mixed JSON types differently).
"""

from django.db.models import BooleanField, Expression, FloatField, TextField


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
