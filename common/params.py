"""Query parameters as pages read them: hostile values (NUL bytes, impossible dates) are dropped, never raised."""

import datetime

from django.http import QueryDict
from django.utils.dateparse import parse_datetime

NUL = "\x00"


def querydict_without_nul(query: QueryDict) -> QueryDict:
    """A copy of `query` with NUL bytes removed from keys and values (PostgreSQL refuses them in text)."""
    cleaned = QueryDict(mutable=True, encoding=query.encoding)
    for key, values in query.lists():
        cleaned.setlist(key.replace(NUL, ""), [value.replace(NUL, "") for value in values])
    cleaned._mutable = False
    return cleaned


def datetime_param(text: str | None) -> datetime.datetime | None:
    """An ISO 8601 date-time, or None when absent, malformed or impossible (Python refuses offsets past 24 h).

    An aware value comes back in UTC: PostgreSQL refuses offsets past +-15:59 that Python accepts.
    """
    try:
        value = parse_datetime((text or "").strip())
    except ValueError:
        return None
    return value.astimezone(datetime.UTC) if value and value.tzinfo else value


def id_param(text: str | None) -> int | None:
    """A row id from a query parameter, or None unless it is ASCII digits that fit a 64-bit integer."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def is_id(text) -> bool:
    """Whether `text` reads as a row id: ASCII digits only ("²".isdigit() is true, int("²") fails) that fit
    a 64-bit integer (SQLite and PostgreSQL refuse bigger ones)."""
    return id_param(str(text) if text is not None else "") is not None
