"""A list page's state, read from the query string: filters, sort, visible columns, page size, page.

The whole state lives in the URL (so back, reload and a shared link show the same list); a saved view
is a named copy of it. Unknown sorts, columns and page sizes fall back to the list's defaults.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import HttpRequest, QueryDict

from common.params import is_id

from .registry import Column, ListSpec

STATE_KEYS = ("sort", "cols", "per_page", "saved")


def clean_param(value: str, *, max_length: int = 200) -> str:
    """A query parameter as a filter uses it: trimmed, bounded, without NUL bytes."""
    return (value or "").replace("\x00", "").strip()[:max_length]


@dataclass
class ListState:
    spec: ListSpec
    filters: dict[str, str]
    sort: str
    column_keys: list[str]
    per_page: int
    page: str = "1"
    saved_id: int | None = None

    @property
    def columns(self) -> list[Column]:
        chosen = set(self.column_keys)
        return [c for c in self.spec.columns if c.key in chosen or c.required]

    @property
    def is_filtered(self) -> bool:
        return any(self.filters.values())

    def params(self, **changes) -> dict[str, str]:
        """The canonical query parameters (defaults left out), with `changes` applied (None removes)."""
        params = {key: value for key, value in self.filters.items() if value}
        if self.sort != self.spec.default_sort:
            params["sort"] = self.sort
        if self.column_keys != self.spec.default_columns:
            params["cols"] = ",".join(self.column_keys)
        if self.per_page != self.spec.default_page_size:
            params["per_page"] = str(self.per_page)
        if self.saved_id:
            params["saved"] = str(self.saved_id)
        for key, value in changes.items():
            if value in (None, ""):
                params.pop(key, None)
            else:
                params[key] = str(value)
        return params

    def querystring(self, **changes) -> str:
        return urlencode(self.params(**changes))

    def hidden_inputs(self, *exclude: str) -> list[tuple[str, str]]:
        """(name, value) of the state parameters, for forms that must carry the rest of the state along."""
        return [(key, value) for key, value in self.params().items() if key not in exclude]

    def filter_form_inputs(self) -> list[tuple[str, str]]:
        """The state the filter form does not hold itself (sort, columns, page size, saved view)."""
        return [(key, value) for key, value in self.params().items() if key in STATE_KEYS]

    def headers(self) -> list[dict]:
        """Per visible column: the column, the query string that sorts by it and its sort state."""
        rows = []
        for column in self.columns:
            state, qs = "", ""
            if column.sort:
                state = (
                    "asc" if self.sort == column.sort else "desc" if self.sort == f"-{column.sort}" else ""
                )
                qs = self.querystring(sort=f"-{column.sort}" if state == "asc" else column.sort, page=None)
            rows.append({"column": column, "sort_qs": qs, "sort_state": state})
        return rows

    def saved_state(self) -> dict:
        """What a saved view keeps: filters, columns, sort and page size."""
        return {
            "filters": {key: value for key, value in self.filters.items() if value},
            "columns": list(self.column_keys),
            "sort": self.sort,
            "per_page": self.per_page,
        }


def _columns(spec: ListSpec, raw: list[str]) -> list[str]:
    known = {column.key for column in spec.columns}
    chosen = [key for key in dict.fromkeys(raw) if key in known]
    return chosen or spec.default_columns


def list_state(request: HttpRequest, spec: ListSpec) -> ListState:
    return list_state_from(request.GET, spec)


def list_state_from(data: QueryDict, spec: ListSpec) -> ListState:
    filters = {key: clean_param(data.get(key, "")) for key in spec.filters}
    sort = clean_param(data.get("sort", ""))
    if sort not in spec.sort_keys:
        sort = spec.default_sort
    raw_columns = data.getlist("col") or clean_param(data.get("cols", ""), max_length=1000).split(",")
    per_page = clean_param(data.get("per_page", ""))
    per_page = int(per_page) if is_id(per_page) and int(per_page) in spec.page_sizes else 0
    saved = clean_param(data.get("saved", ""))
    page = clean_param(data.get("page", ""), max_length=12)
    return ListState(
        spec=spec,
        filters=filters,
        sort=sort,
        column_keys=_columns(spec, [key.strip() for key in raw_columns]),
        per_page=per_page or spec.default_page_size,
        page=page if is_id(page) or page == "last" else "1",
        saved_id=int(saved) if is_id(saved) else None,
    )


def state_from_saved(spec: ListSpec, saved: dict, *, saved_id: int | None = None) -> ListState:
    """The state a saved view stores, checked again (its columns may have gone since it was saved)."""
    per_page = saved.get("per_page")
    return ListState(
        spec=spec,
        filters={key: clean_param(str(saved.get("filters", {}).get(key, ""))) for key in spec.filters},
        sort=saved.get("sort") if saved.get("sort") in spec.sort_keys else spec.default_sort,
        column_keys=_columns(spec, [str(key) for key in saved.get("columns") or []]),
        per_page=per_page if per_page in spec.page_sizes else spec.default_page_size,
        saved_id=saved_id,
    )
