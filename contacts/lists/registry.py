"""The registry of list pages: each list's columns, filters, sorts, page sizes and bulk actions."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """One column a user can show or hide. `cell` renders the <td> content with `row` in the context."""

    key: str
    label: str
    cell: str
    sort: str = ""  # the sort key the list's selector understands ("" = not sortable)
    default: bool = True  # shown while the user has not chosen columns
    required: bool = False  # cannot be hidden (the record's name)
    css: str = ""  # classes of the <th> and <td>


@dataclass(frozen=True)
class BulkAction:
    """An action on the selected rows. `inputs` is a template with the action's own fields (may be "")."""

    key: str
    label: str
    permission: str
    icon: str = "check2-all"
    inputs: str = ""
    danger: bool = False


@dataclass
class ListSpec:
    key: str  # also the saved views' list_key
    view_permission: str
    noun: str  # "contact"; the plural is `noun_plural`
    noun_plural: str
    url_name: str  # the list page
    bulk_url_name: str  # POST target of the bulk actions ("" = no bulk actions)
    results_id: str  # the element htmx swaps on a filter change
    filter_form_id: str
    filters: tuple[str, ...]
    default_sort: str
    columns: list[Column] = field(default_factory=list)
    bulk_actions: list[BulkAction] = field(default_factory=list)
    page_sizes: tuple[int, ...] = (25, 50, 100)
    per_page: int = 25  # the default page size, one of page_sizes
    empty: str = ""  # template of the empty state (gets `list`)
    card: str = ""  # template of one row as a card for phones ("" = the table scrolls sideways)

    @property
    def default_page_size(self) -> int:
        return self.per_page

    def column(self, key: str) -> Column | None:
        return next((column for column in self.columns if column.key == key), None)

    @property
    def sort_keys(self) -> set[str]:
        keys = {column.sort for column in self.columns if column.sort}
        return keys | {f"-{key}" for key in keys} | {self.default_sort}

    @property
    def default_columns(self) -> list[str]:
        return [column.key for column in self.columns if column.default or column.required]


LISTS: dict[str, ListSpec] = {}


def list_register(spec: ListSpec) -> ListSpec:
    LISTS[spec.key] = spec
    return spec


def list_get(key: str) -> ListSpec | None:
    return LISTS.get(key)


def column_add(list_key: str, column: Column, *, after: str = "") -> None:
    """Add a column to a registered list (e.g. a custom field), after the column `after` or at the end."""
    spec = LISTS[list_key]
    spec.columns = [c for c in spec.columns if c.key != column.key]
    index = next((i + 1 for i, c in enumerate(spec.columns) if c.key == after), len(spec.columns))
    spec.columns.insert(index, column)
