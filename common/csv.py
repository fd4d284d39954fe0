"""CSV downloads: streamed row by row, with cells a spreadsheet would run as formulas defused."""

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse


class _Echo:
    def write(self, value):
        return value


def csv_safe(value) -> str:
    """Spreadsheet apps run cells starting with = + - @ as formulas; quote them."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") and not text[1:2].isdigit() else text


def csv_response(*, filename: str, header: list[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    """A streamed CSV attachment; `rows` is consumed lazily (pass a generator over `.iterator()`)."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([csv_safe(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
