"""One request per batch to each kind of destination, in the format its documentation gives.

- Audience webhook: a signed JSON POST `{"destination", "batch_id", "sent_at", "adds": [...], "removes": [...]}`
  (docs/api.md).
- Mailchimp Marketing API: "batch subscribe or unsubscribe" `POST /3.0/lists/{list_id}` with
  `{"members": [{"email_address", "status", "merge_fields"}], "update_existing": true}` (at most 500),
  HTTP Basic with the API key; the data centre is the key's suffix (`…-us21` -> us21.api.mailchimp.com).
- Meta Custom Audiences: `POST /{audience_id}/users` (adds) and `DELETE /{audience_id}/users` (removes) with
  form fields `payload` = `{"schema": ["EMAIL", "PHONE", ...], "data": [[sha256, sha256, ...], ...]}`,
  `session` = `{"session_id", "batch_seq", "last_batch_flag", "estimated_num_total"}` and `access_token`.
Every request goes through `common.outbound` (the SSRF guard); only a status line is kept.
"""

import base64
import json
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

from common import outbound

from ..webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_header
from .identifiers import meta_phone, sha256
from .models import AudienceDestination

META_BASE = "https://graph.facebook.com/v21.0"
META_FIELDS = ("FN", "LN", "CT", "ST", "ZIP", "COUNTRY", "GEN", "DOBY")


@dataclass
class Person:
    profile_id: int
    emails: list[str]  # normalised
    phones: list[str]  # E.164
    fields: dict = field(default_factory=dict)  # destination field -> value (from the mapping)


@dataclass
class Result:
    ok: bool
    status_line: str
    rejected: int = 0


class AdapterError(Exception):
    pass


def _send(method: str, url: str, *, body: bytes, headers: dict) -> outbound.OutboundResponse:
    return outbound.request(method, url, body=body, headers=headers, timeout=30)


def _line(response: outbound.OutboundResponse, extra: str = "") -> str:
    return f"{response.status_line}{extra}"


def webhook_sync(destination: AudienceDestination, adds: list[Person], removes: list[Person]) -> Result:
    def row(p: Person, with_fields: bool) -> dict:
        item = {
            "profile_id": p.profile_id,
            "email_sha256": [sha256(e) for e in p.emails],
            "phone_sha256": [sha256(n) for n in p.phones],
        }
        if with_fields:
            item["fields"] = p.fields
        return item

    payload = {
        "destination": {"id": destination.pk, "name": destination.name},
        "batch_id": uuid.uuid4().hex,
        "sent_at": int(time.time()),
        "adds": [row(p, True) for p in adds],
        "removes": [row(p, False) for p in removes],
    }
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    stamp = str(int(time.time()))
    response = _send(
        "POST",
        destination.url,
        body=body,
        headers={
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: signature_header(secrets=[destination.secret], timestamp=stamp, body=body),
        },
    )
    return Result(ok=response.ok, status_line=_line(response))


def mailchimp_base(destination: AudienceDestination) -> str:
    if destination.url:
        return destination.url.rstrip("/")
    dc = destination.api_key.rsplit("-", 1)[-1] if "-" in destination.api_key else ""
    if not dc.isalnum():
        raise AdapterError("The Mailchimp API key must end with its data centre, e.g. …-us21.")
    return f"https://{dc}.api.mailchimp.com"


def mailchimp_sync(destination: AudienceDestination, adds: list[Person], removes: list[Person]) -> Result:
    members = [
        {"email_address": p.emails[0], "status": "subscribed", "merge_fields": p.fields}
        for p in adds
        if p.emails
    ] + [{"email_address": p.emails[0], "status": "unsubscribed"} for p in removes if p.emails]
    if not members:
        return Result(ok=True, status_line="Nothing to send (no e-mail addresses)")
    auth = base64.b64encode(f"cdpcrm:{destination.api_key}".encode()).decode()
    body = json.dumps({"members": members, "update_existing": True}).encode()
    response = _send(
        "POST",
        f"{mailchimp_base(destination)}/3.0/lists/{destination.list_id}",
        body=body,
        headers={"Content-Type": "application/json", "Authorization": f"Basic {auth}"},
    )
    if not response.ok:
        return Result(ok=False, status_line=_line(response))
    answer = response.json() or {}
    rejected = int(answer.get("error_count") or len(answer.get("errors") or []))
    return Result(
        ok=True, status_line=_line(response, f"; {rejected} rejected" if rejected else ""), rejected=rejected
    )


def _meta_schema(destination: AudienceDestination) -> list[str]:
    extra = [f for f in dict.fromkeys((destination.field_mapping or {}).values()) if f in META_FIELDS]
    return ["EMAIL", "PHONE", *extra]


def _meta_row(person: Person, schema: list[str]) -> list[str]:
    values = {
        "EMAIL": sha256(person.emails[0]) if person.emails else "",
        "PHONE": sha256(meta_phone(person.phones[0])) if person.phones else "",
    }
    for name in schema[2:]:
        raw = str(person.fields.get(name) or "").strip().lower().replace(" ", "")
        values[name] = sha256(raw) if raw else ""
    return [values[name] for name in schema]


def meta_sync(
    destination: AudienceDestination,
    adds: list[Person],
    removes: list[Person],
    *,
    session: dict | None = None,
) -> Result:
    """`session` = {"session_id", "batch_seq", "last_batch_flag", "estimated_num_total"} for the adds."""
    base = (destination.url or META_BASE).rstrip("/")
    schema = _meta_schema(destination)
    lines = []
    for method, people in (("POST", adds), ("DELETE", removes)):
        people = [p for p in people if p.emails or p.phones]
        if not people:
            continue
        form = {
            "payload": json.dumps({"schema": schema, "data": [_meta_row(p, schema) for p in people]}),
            "access_token": destination.api_key,
        }
        if session is not None and method == "POST":
            form["session"] = json.dumps(session)
        response = _send(
            method,
            f"{base}/{destination.list_id}/users",
            body=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if not response.ok:
            return Result(ok=False, status_line=_line(response))
        answer = response.json() or {}
        invalid = int(answer.get("num_invalid_entries") or 0)
        lines.append(f"{method} {_line(response)}" + (f"; {invalid} invalid" if invalid else ""))
    return Result(ok=True, status_line="; ".join(lines) or "Nothing to send (no identifiers)")


def sync(destination: AudienceDestination, adds: list[Person], removes: list[Person], **kwargs) -> Result:
    if destination.kind == AudienceDestination.Kind.MAILCHIMP:
        return mailchimp_sync(destination, adds, removes)
    if destination.kind == AudienceDestination.Kind.META:
        return meta_sync(destination, adds, removes, **kwargs)
    return webhook_sync(destination, adds, removes)
