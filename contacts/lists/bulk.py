"""Parsing the bulk-action form of a list page: which rows, which action, where to go back to."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.urls import reverse

from common.params import is_id

from .registry import ListSpec

MAX_SELECTION = 500  # a page holds at most 100 rows; the margin is for "select" across a few pages


class Unset:
    """Marks a bulk field the user did not ask to change (None is a value: "nobody")."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset()


def bulk_ids(request: HttpRequest, spec: ListSpec) -> list[int]:
    """The selected row ids: integers, each once, at most MAX_SELECTION."""
    ids = []
    for raw in request.POST.getlist("ids"):
        raw = raw.strip()
        if is_id(raw):
            ids.append(int(raw))
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise ValidationError(f"Select at least one {spec.noun} first.")
    if len(ids) > MAX_SELECTION:
        raise ValidationError(f"Select at most {MAX_SELECTION} {spec.noun_plural} at a time.")
    return ids


def bulk_tag_names(request: HttpRequest, field: str) -> list[str]:
    names = [name.strip() for name in request.POST.get(field, "").replace("\x00", "").split(",")]
    names = [name for name in names if name]
    if not names:
        raise ValidationError("Type the tags, separated by commas.")
    if any(len(name) > 60 for name in names):
        raise ValidationError("A tag has at most 60 characters.")
    return names


def bulk_back_url(request: HttpRequest, spec: ListSpec) -> str:
    """The list page the form came from, with its filters (only our own list URL, never elsewhere)."""
    querystring = request.POST.get("querystring", "").replace("\x00", "")
    url = reverse(spec.url_name)
    return f"{url}?{querystring}" if querystring and "\n" not in querystring else url


def bulk_action(request: HttpRequest, spec: ListSpec, user) -> str:
    """The action the user pressed, if the list has it and the user has its permission."""
    key = request.POST.get("action", "")
    action = next((a for a in spec.bulk_actions if a.key == key), None)
    if action is None:
        raise ValidationError("Pick an action.")
    if not user.has_perm(action.permission):
        raise PermissionDenied(f"You may not {action.label.lower()}.")
    return key
