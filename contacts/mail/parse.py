"""Reading e-mail from outside as far as it can be read: headers, text, attachments, auto-reply signs.

Everything here assumes hostile input: bad encodings and charsets, missing or broken headers, huge or
deeply nested parts. The lenient compat32 parser is used and every decoding step has a fallback, so a
message yields what is readable plus notes on what was not; nothing raises out of `headers_parse` or
`message_parse` except on input that is not bytes.
"""

import email
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.header import decode_header, make_header
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from django.conf import settings
from django.utils import timezone

UNSAFE_CHARS = re.compile("[\x00\ud800-\udfff]")
MESSAGE_ID_RE = re.compile(r"<([^<>\s]{1,250})>")
MAX_DEPTH = 30  # nested multiparts deeper than this are not opened
MAX_PARTS = 500
MAX_BODY_CHARS = 200_000
MAX_HTML_BYTES = 2_000_000
AUTO_PRECEDENCE = {"bulk", "junk", "auto_reply", "auto-reply"}


def clean(value: str, limit: int | None = None) -> str:
    """A string PostgreSQL accepts: no NUL, no lone surrogates (from undecodable bytes)."""
    value = UNSAFE_CHARS.sub("\ufffd", value)
    return value[:limit] if limit else value


def _decode_bytes(data: bytes, charset: str | None) -> tuple[str, str]:
    """Text from bytes in a declared charset; falls back to UTF-8 with replacements, noting what happened."""
    note = ""
    if charset:
        try:
            return data.decode(charset), ""
        except LookupError:
            note = f"unknown charset {charset[:40]!r}, read as UTF-8"
        except UnicodeDecodeError:
            note = f"text not valid {charset[:40]}; unreadable bytes replaced"
    try:
        return data.decode("utf-8"), note
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace"), note or "text not valid UTF-8; unreadable bytes replaced"


def header_text(raw) -> str:
    """A header value as readable text: RFC 2047 encoded-words decoded, raw 8-bit bytes read as UTF-8."""
    if raw is None:
        return ""
    text = str(raw)
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    try:
        text = str(make_header(decode_header(text)))
    except Exception:  # noqa: S110 - a broken encoded-word leaves the raw text, which is still readable
        pass
    return clean(" ".join(text.split()))


def _addresses(values: list) -> list[tuple[str, str]]:
    try:
        pairs = getaddresses([header_text(v) for v in values])
    except Exception:
        return []
    found = []
    for name, address in pairs:
        address = clean(address.strip().strip("<>").lower(), 254)
        if "@" in address and " " not in address:
            found.append((clean(name, 200), address))
    return found


def message_ids(value: str) -> list[str]:
    ids = MESSAGE_ID_RE.findall(value or "")
    return [clean(i) for i in ids]


def _auto_kind(msg) -> str:
    """RFC 3834 Auto-Submitted, Precedence, Microsoft's suppress header, and delivery status reports."""
    auto = header_text(msg.get("Auto-Submitted")).lower()
    if auto and auto != "no":
        return "auto-reply"
    content_type = msg.get_content_type()
    if content_type == "multipart/report" or header_text(msg.get("X-Failed-Recipients")):
        return "bounce"
    if header_text(msg.get("Precedence")).lower() in AUTO_PRECEDENCE:
        return "bulk"
    if header_text(msg.get("X-Autoreply")) or header_text(msg.get("X-Autorespond")):
        return "auto-reply"
    suppress = header_text(msg.get("X-Auto-Response-Suppress")).lower()
    if suppress and any(token in suppress for token in ("all", "oof", "autoreply")):
        return "auto-reply"
    sender = header_text(msg.get("From")).lower()
    if "mailer-daemon@" in sender or sender.startswith("postmaster@") or "<postmaster@" in sender:
        return "bounce"
    if header_text(msg.get("Return-Path")) == "<>":
        return "bounce"
    return ""


def _date(msg, fallback: datetime | None) -> tuple[datetime, str]:
    raw = header_text(msg.get("Date"))
    now = timezone.now()
    try:
        value = parsedate_to_datetime(raw) if raw else None
    except (TypeError, ValueError, IndexError, OverflowError):
        value = None
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if value is None or not (datetime(1980, 1, 1, tzinfo=UTC) <= value <= now + timedelta(days=2)):
        note = "no readable Date header" if not raw else f"unreadable date {raw[:40]!r}"
        return (fallback or now), note
    return value, ""


@dataclass
class MailHeaders:
    uid: int
    size: int
    message_id: str
    in_reply_to: str
    references: list[str]
    subject: str
    from_email: str
    from_name: str
    to: list[str]
    cc: list[str]
    date: datetime
    auto_kind: str
    notes: list[str] = field(default_factory=list)

    @property
    def participants(self) -> list[str]:
        return [a for a in dict.fromkeys([self.from_email, *self.to, *self.cc]) if a]

    @property
    def reply_ids(self) -> list[str]:
        """Ids this message answers, nearest first: In-Reply-To, then References from the newest."""
        ids = ([self.in_reply_to] if self.in_reply_to else []) + list(reversed(self.references))
        return list(dict.fromkeys(ids))


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    size: int
    content: bytes | None  # None: not kept (too large), see note
    note: str = ""


@dataclass
class ParsedMail:
    headers: MailHeaders
    body_text: str
    attachments: list[ParsedAttachment]
    notes: list[str] = field(default_factory=list)


def _headers_from(msg, *, uid: int, size: int, raw_head: bytes, fallback_date) -> MailHeaders:
    notes: list[str] = []
    ids = message_ids(header_text(msg.get("Message-ID")))
    if ids:
        message_id = ids[0]
    else:
        # Same bytes, same id: the copy in another folder or a re-sync is still recognised.
        # Hashed without line-ending differences, so the header fetch and the full fetch agree.
        digest = hashlib.sha256(raw_head.replace(b"\r\n", b"\n").strip()).hexdigest()
        message_id = f"{digest[:40]}@no-message-id.invalid"
        notes.append("no Message-ID header")
    senders = _addresses(msg.get_all("From") or []) or _addresses(msg.get_all("Sender") or [])
    if not senders:
        notes.append("no readable sender")
    date, date_note = _date(msg, fallback_date)
    if date_note:
        notes.append(date_note)
    in_reply = message_ids(header_text(msg.get("In-Reply-To")))
    return MailHeaders(
        uid=uid,
        size=size,
        message_id=message_id,
        in_reply_to=in_reply[0] if in_reply else "",
        references=message_ids(header_text(msg.get("References")))[-50:],
        subject=clean(header_text(msg.get("Subject")), 255),
        from_email=senders[0][1] if senders else "",
        from_name=senders[0][0] if senders else "",
        to=[a for _, a in _addresses(msg.get_all("To") or [])][:100],
        cc=[a for _, a in _addresses(msg.get_all("Cc") or [])][:100],
        date=date,
        auto_kind=_auto_kind(msg),
        notes=notes,
    )


def headers_parse(raw_head: bytes, *, uid: int, size: int = 0, fallback_date=None) -> MailHeaders:
    """The headers of one message (the IMAP `BODY.PEEK[HEADER]` bytes)."""
    msg = email.message_from_bytes(raw_head or b"", policy=policy.compat32)
    return _headers_from(
        msg, uid=uid, size=size or len(raw_head), raw_head=raw_head, fallback_date=fallback_date
    )


class _TextFromHtml(HTMLParser):
    BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "blockquote", "table"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextFromHtml()
    try:
        parser.feed(html[:MAX_HTML_BYTES])
        parser.close()
    except Exception:  # noqa: S110 - HTMLParser is lenient; anything left is dropped, not fatal
        pass
    text = "".join(parser.parts)
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def _walk(msg, notes: list[str]):
    """Leaf parts, depth-first, iteratively: no recursion limit to hit, at most MAX_PARTS parts."""
    stack = [(msg, 0)]
    count = 0
    while stack:
        part, depth = stack.pop()
        count += 1
        if count > MAX_PARTS:
            notes.append(f"more than {MAX_PARTS} parts; the rest were not read")
            return
        if part.is_multipart():
            if depth >= MAX_DEPTH:
                notes.append(f"parts nested deeper than {MAX_DEPTH} levels were not read")
                continue
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend((child, depth + 1) for child in reversed(payload))
            continue
        yield part


def _part_bytes(part) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if data is None:
        payload = part.get_payload()
        data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    return data


def _filename(part) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    return clean(header_text(name), 255) if name else ""


def message_parse(raw: bytes, *, uid: int, fallback_date=None, keep_attachments: bool = True) -> ParsedMail:
    """A whole message: its headers, the text to log (plain text, else HTML made text) and attachments."""
    head_end = raw.find(b"\r\n\r\n")
    head_end = raw.find(b"\n\n") if head_end < 0 else head_end
    raw_head = raw[: head_end if head_end >= 0 else len(raw)]
    msg = email.message_from_bytes(raw, policy=policy.compat32)
    headers = _headers_from(msg, uid=uid, size=len(raw), raw_head=raw_head, fallback_date=fallback_date)
    notes = list(headers.notes)
    plain: list[str] = []
    html: list[str] = []
    attachments: list[ParsedAttachment] = []
    limit = settings.MAIL_MAX_ATTACHMENT_BYTES
    for part in _walk(msg, notes):
        content_type = clean(part.get_content_type(), 255)
        disposition = str(part.get("Content-Disposition", "")).split(";")[0].strip().lower()
        filename = _filename(part)
        is_text = content_type in ("text/plain", "text/html")
        if disposition == "attachment" or filename or not (is_text or content_type.startswith("multipart/")):
            data = _part_bytes(part)
            if not keep_attachments:
                continue
            kept = data if len(data) <= limit else None
            attachments.append(
                ParsedAttachment(
                    filename=filename or f"attachment-{len(attachments) + 1}",
                    content_type=content_type,
                    size=len(data),
                    content=kept,
                    note="" if kept is not None else f"larger than {limit // (1024 * 1024)} MB, not kept",
                )
            )
            continue
        text, note = _decode_bytes(_part_bytes(part), part.get_content_charset())
        if note:
            notes.append(note)
        (plain if content_type == "text/plain" else html).append(text)
    body = "\n\n".join(t.strip() for t in plain if t.strip())
    if not body and html:
        body = html_to_text("\n".join(html))
    body = clean(body)
    if len(body) > MAX_BODY_CHARS:
        body = body[:MAX_BODY_CHARS]
        notes.append(f"text longer than {MAX_BODY_CHARS:,} characters; the rest was not kept")
    return ParsedMail(
        headers=headers, body_text=body, attachments=attachments, notes=list(dict.fromkeys(notes))
    )
