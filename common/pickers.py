"""Type-ahead record pickers: the form widget and the JSON the search endpoints answer.

A picker is a `<select data-picker="<search url>">` that static/js/pickers.js turns into a Tom Select
box. The page renders only the selected option(s), never the whole table; typing asks the search URL
(`?q=`) for at most `PICKER_LIMIT` matches, each with a second line (e-mail, domain, ...) to tell
namesakes apart.
"""

import json
from collections.abc import Callable, Iterable

from django import forms
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from common.params import is_id

PICKER_LIMIT = 20
QUERY_MAX_LENGTH = 100


def picker_query(request: HttpRequest) -> str:
    """The typed text: trimmed, bounded, without the NUL bytes PostgreSQL refuses."""
    return request.GET.get("q", "").replace("\x00", "").strip()[:QUERY_MAX_LENGTH]


def picker_option(value, text: str, sub: str = "") -> dict:
    return {"value": str(value), "text": text, "sub": sub}


def picker_response(options: Iterable[dict]) -> JsonResponse:
    return JsonResponse({"results": list(options)[:PICKER_LIMIT]})


class PickerSelect(forms.Select):
    """A select that renders only its selected option(s) and searches the server as the user types.

    `url_name` is the search endpoint; `sub` gives the second line of an option (e.g. the e-mail).
    Used with a ModelChoiceField: validation still checks the posted id against the field's queryset.
    """

    def __init__(
        self,
        url_name: str,
        *,
        sub: Callable[[object], str] | None = None,
        placeholder: str = "Type to search…",
        attrs=None,
    ):
        super().__init__(attrs)
        self.url_name = url_name
        self.sub = sub
        self.placeholder = placeholder

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget_attrs = context["widget"]["attrs"]
        widget_attrs["data-picker"] = reverse(self.url_name)
        widget_attrs["data-placeholder"] = self.placeholder
        return context

    def optgroups(self, name, value, attrs=None):
        """The empty choice (if the field has one) and the selected records only."""
        selected = [str(v) for v in value if v not in (None, "")]
        field = getattr(self.choices, "field", None)
        options = []
        if field is not None and field.empty_label is not None:
            options.append(self.create_option(name, "", field.empty_label, not selected, 0))
        if selected and field is not None:
            records = field.queryset.filter(pk__in=[v for v in selected if is_id(v)])
            for index, obj in enumerate(records, start=1):
                text = field.label_from_instance(obj)
                option = self.create_option(name, str(obj.pk), text, True, index)
                data = picker_option(obj.pk, text, self.sub(obj) if self.sub else "")
                option["attrs"]["data-data"] = json.dumps(data)
                options.append(option)
        return [(None, options, 0)]


def user_label(user) -> str:
    return user.get_full_name() or user.get_username()


def user_sub(user) -> str:
    return user.email or user.get_username()


def user_options(users, query: str) -> list[dict]:
    """Options for an owner/assignee picker from a queryset of users, filtered by the typed text."""
    for term in query.split():
        users = users.filter(
            Q(username__icontains=term)
            | Q(first_name__icontains=term)
            | Q(last_name__icontains=term)
            | Q(email__icontains=term)
        )
    return [picker_option(u.pk, user_label(u), user_sub(u)) for u in users[:PICKER_LIMIT]]


def filter_picker(
    *,
    name: str,
    url_name: str,
    empty: str,
    value: str = "",
    current: dict | None = None,
    statics: tuple[tuple[str, str], ...] = (),
    element_id: str = "",
    css: str = "form-select-sm",
) -> dict:
    """Context for templates/includes/picker_select.html: a type-ahead select of a filter bar.

    `statics` are fixed choices ("me", "none") always offered; `current` is the option of the record
    the filter holds now (picker_option()), so the page needs no list of every record.
    """
    options = []
    for static_value, text in statics:
        data = {"value": static_value, "text": text, "sub": "", "static": True}
        options.append({**data, "data": json.dumps(data), "selected": value == static_value})
    if current is not None and not any(option["selected"] for option in options):
        options.append({**current, "data": json.dumps(current), "selected": True})
    return {
        "name": name,
        "id": element_id or f"filter-{name}",
        "url": reverse(url_name),
        "empty": empty,
        "options": options,
        "css": css,
    }


def user_current(users, value: str) -> dict | None:
    """The picker option of the user whose id `value` is, if there is one."""
    user = users.filter(pk=value).first() if is_id(value) else None
    return picker_option(user.pk, user_label(user), user_sub(user)) if user else None
