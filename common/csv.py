"""Spreadsheet downloads: streamed CSV row by row, every cell a spreadsheet could run as a formula defused.

`spreadsheet_cell` is the one guard for every CSV (and any XLSX) the app writes: a text cell starting with
= + - @, a tab or a carriage return gets a leading apostrophe, so Excel, LibreOffice and Google Sheets show
it as text instead of evaluating it (OWASP "CSV injection"). Numbers stay numbers: int, float and Decimal
values, and text that is only a signed number ("-5", "+14155552671"), are written as they are.
"""

import csv
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.http import StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


class _Echo:
    def write(self, value):
        return value


def spreadsheet_cell(value) -> str | int | float | Decimal:
    """A value as a spreadsheet may safely receive it (None becomes an empty cell)."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(text):
        return f"'{text}"
    return text


def csv_safe(value) -> str:
    """`spreadsheet_cell` as text, for CSV."""
    return str(spreadsheet_cell(value))


def csv_lines(*, header: Iterable, rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text of a header and rows, one line at a time, every cell defused."""
    writer = csv.writer(_Echo())
    yield writer.writerow([csv_safe(value) for value in header])
    for row in rows:
        yield writer.writerow([csv_safe(value) for value in row])


def csv_response(*, filename: str, header: list[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    """A streamed CSV attachment; `rows` is consumed lazily (pass a generator over `.iterator()`)."""
    response = StreamingHttpResponse(
        csv_lines(header=header, rows=rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
