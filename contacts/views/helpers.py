"""Query-string helpers of the list pages (filters, sort links) and small view utilities."""

from urllib.parse import urlencode

from django.http import HttpResponse
from django.urls import reverse

from common.htmx import trigger


def querystring(params: dict, **changes) -> str:
    merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "")}
    return urlencode(merged)


def sort_links(params: dict, columns: list[str], current: str) -> dict:
    """For each sortable column: the querystring that sorts by it (toggling direction) and its state."""
    links = {}
    for column in columns:
        state = "asc" if current == column else "desc" if current == f"-{column}" else ""
        target = f"-{column}" if state == "asc" else column
        links[column] = {"qs": querystring(params, sort=target, page=None), "state": state}
    return links


def url_to(name: str, *args) -> str:
    return reverse(name, args=args)


CONTACT_CHANGED = "crm-contact-changed"


def changed(response: HttpResponse) -> HttpResponse:
    """Tell the page that its record changed: panels of other apps (the timeline, the CDP card) reload."""
    return trigger(response, CONTACT_CHANGED)
