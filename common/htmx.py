"""htmx response helpers shared by every app's views: toasts, client events and refusals."""

import json

from django.core.exceptions import ValidationError
from django.http import HttpResponse


def trigger(response: HttpResponse, event: str, detail: object = None) -> HttpResponse:
    """Add a client event to the response's HX-Trigger header, keeping the events already there."""
    events = json.loads(response.headers.get("HX-Trigger") or "{}")
    events[event] = detail if detail is not None else {}
    response["HX-Trigger"] = json.dumps(events)
    return response


def toast(response: HttpResponse, message: str, kind: str = "success") -> HttpResponse:
    """Show `message` as a toast once htmx has swapped the response (static/js/app.js listens)."""
    return trigger(response, "toast", {"message": message, "kind": kind})


def error_text(exc: ValidationError) -> str:
    """All messages of a ValidationError as one sentence, whatever its shape."""
    if hasattr(exc, "message_dict"):
        return " ".join(message for messages_ in exc.message_dict.values() for message in messages_)
    return " ".join(exc.messages)


def refused(message: str, status: int = 400) -> HttpResponse:
    """A refused htmx request: the message as text and in X-Error-Message (app.js shows it as a toast)."""
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    plain = message.translate(str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"}))
    response["X-Error-Message"] = plain.encode("latin-1", "replace").decode("latin-1")
    return response
