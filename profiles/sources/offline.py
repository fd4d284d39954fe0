"""Offline interactions (in-store purchases, call-centre orders) from CSV into the same inbox and pipeline.

Columns: `event` and `timestamp` are required, plus at least one of `user_id`, `anonymous_id`, `email`;
`message_id` is optional (derived from the row so uploading the same file twice stores nothing new);
every other column becomes an event property (numbers are kept as numbers).
"""

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..ingest.inbox import batch_accept, request_info_now
from ..ingest.normalize import MAX_ID, MAX_MESSAGE_ID
from ..models import IngestBatch, Source

MAX_CSV_BYTES = 5 * 1024 * 1024
ROWS_PER_BATCH = 1000
IDENTIFIER_COLUMNS = ("user_id", "anonymous_id", "email")
KNOWN_COLUMNS = {"event", "timestamp", "message_id", *IDENTIFIER_COLUMNS}
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


class CsvRejected(ValueError):
    """The file as a whole cannot be read."""


@dataclass
class RowError:
    row: int
    reason: str


@dataclass
class CsvImportResult:
    accepted_rows: int = 0
    batches: list[IngestBatch] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _timestamp(value: str) -> str:
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        for fmt in DATE_FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)  # noqa: DTZ007 - naive offline times are UTC, set below
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"timestamp {value[:40]!r} is not a date (use ISO 8601: 2025-05-01T14:30:00Z)")
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()


def _property(value: str):
    return (
        float(value) if "." in value and NUMBER.match(value) else int(value) if NUMBER.match(value) else value
    )


def row_to_event(row: dict[str, str], *, source: Source) -> dict:
    values = {(key or "").strip().lower(): (value or "").strip() for key, value in row.items() if key}
    if not values.get("event"):
        raise ValueError("event is empty")
    if not values.get("timestamp"):
        raise ValueError("timestamp is empty")
    if not any(values.get(column) for column in IDENTIFIER_COLUMNS):
        raise ValueError("one of user_id, anonymous_id or email is required")
    email = values.get("email", "").lower()
    if email and "@" not in email:
        raise ValueError(f"email {email[:60]!r} is not an e-mail address")
    for column in IDENTIFIER_COLUMNS:
        if len(values.get(column, "")) > MAX_ID:
            raise ValueError(f"{column} is longer than {MAX_ID} characters")
    timestamp = _timestamp(values["timestamp"])
    message_id = (
        values.get("message_id")
        or "csv-" + hashlib.sha256(json.dumps([source.pk, sorted(values.items())]).encode()).hexdigest()[:40]
    )
    if len(message_id) > MAX_MESSAGE_ID:
        raise ValueError(f"message_id is longer than {MAX_MESSAGE_ID} characters")
    event = {
        "type": "track",
        "event": values["event"][:200],
        "messageId": message_id,
        "timestamp": timestamp,
        "properties": {
            key: _property(value) for key, value in values.items() if key not in KNOWN_COLUMNS and value
        },
    }
    if values.get("user_id"):
        event["userId"] = values["user_id"]
    if values.get("anonymous_id"):
        event["anonymousId"] = values["anonymous_id"]
    elif not values.get("user_id"):
        # A row known only by e-mail is keyed by it; resolution links the e-mail identity to the person.
        event["anonymousId"] = email
    if email:
        event["context"] = {"traits": {"email": email}}
    return event


def offline_csv_import(*, source: Source, data: bytes, filename: str = "upload.csv") -> CsvImportResult:
    """Good rows go to the inbox as track events (batches of 1,000); bad rows come back with row numbers."""
    if len(data) > MAX_CSV_BYTES:
        raise CsvRejected("the file is larger than 5 MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvRejected("the file is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    header = {(name or "").strip().lower() for name in reader.fieldnames or []}
    missing = {"event", "timestamp"} - header
    if missing or not header & set(IDENTIFIER_COLUMNS):
        raise CsvRejected(
            "the header must have event, timestamp and one of user_id, anonymous_id, email"
            + (f" (missing: {', '.join(sorted(missing))})" if missing else "")
        )
    result = CsvImportResult()
    events: list[dict] = []
    try:
        for row in reader:
            line = reader.line_num  # spreadsheet row number; the header is row 1
            try:
                events.append(row_to_event(row, source=source))
            except ValueError as exc:
                result.errors.append(RowError(row=line, reason=str(exc)))
    except csv.Error as exc:
        raise CsvRejected(f"the file is not valid CSV: {exc}") from None
    context = {"library": {"name": "cdpcrm-csv", "version": "1"}, "import": {"filename": filename[:200]}}
    for start in range(0, len(events), ROWS_PER_BATCH):
        chunk = events[start : start + ROWS_PER_BATCH]
        info = request_info_now(client_ip=None, user_agent="", browser_source=False)
        body = json.dumps({"batch": chunk, "context": context})
        result.batches.append(
            batch_accept(
                source=source, kind=IngestBatch.Kind.CSV, body=body, event_count=len(chunk), info=info
            )
        )
    result.accepted_rows = len(events)
    return result
