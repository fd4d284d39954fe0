"""A list's page of rows at any table size: the total counted up to a bound, the rows read the cheap way.

Counting every match of "a" in a million contacts costs a scan; so does, for PostgreSQL, the planner's
favourite plan for "the first 25 by name among the matches" when the matches sit late in name order
(it walks the name index and filters, sure they are spread evenly). So a page is read in one of three
ways, each bounded: few matches (at most the counting bound) are read by their ids; many matches are
first looked for among the first WINDOW rows in the list's order (cheap when they are common); failing
that, the matches are read through their own index and sorted (a cost of the matches, not the table).
"""

from django.core.paginator import Page, Paginator
from django.db import connection, transaction
from django.utils.functional import cached_property

from .state import ListState

COUNT_CAP = 5_000
WINDOW = 3_000


class CappedPaginator(Paginator):
    """Counts at least COUNT_CAP rows and always one page past `page` (so "Next" is right); past the bound
    the total is a lower bound (`capped`, shown as "1,000+"). `page=None` counts everything (the last page,
    asked for). `unsearched` is the same list without its search filter, in the same order."""

    def __init__(self, object_list, per_page, *, page: int | None = 1, unsearched=None):
        super().__init__(object_list, per_page)
        self.bound = None if page is None else max(COUNT_CAP, (page + 1) * per_page)
        self.capped = False
        self.unsearched = unsearched
        self._ids: list[int] | None = None

    @cached_property
    def count(self) -> int:
        if self.bound is None:
            return super().count
        ids = list(self.object_list.order_by().values_list("pk", flat=True)[: self.bound + 1])
        self.capped = len(ids) > self.bound
        self._ids = None if self.capped else ids
        return min(len(ids), self.bound)

    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if self._ids is not None:  # few matches: read by id, sorted by the database
            rows = self._rows_of(self._ids, bottom, top)
        elif self.capped and self.unsearched is not None and top <= WINDOW:
            rows = self._rows_many_matches(bottom, top)
        else:
            rows = list(self.object_list[bottom:top])
        return Page(rows, number, self)

    def _rows_of(self, ids: list[int], bottom: int, top: int) -> list:
        # Without the search filter: "LIKE '%x%' AND id IN (...)" would again tempt the planner to walk
        # the list's order filtering row by row; "id IN (...)" alone it reads by primary key.
        return list(
            (self.unsearched if self.unsearched is not None else self.object_list).filter(pk__in=ids)[
                bottom:top
            ]
        )

    def _rows_many_matches(self, bottom: int, top: int) -> list:
        window = list(self.unsearched.values_list("pk", flat=True)[:WINDOW])
        with transaction.atomic():  # which of them match: by primary key, each row checked (no trigram scan)
            _planner_without("enable_bitmapscan")
            found = set(self.object_list.order_by().filter(pk__in=window).values_list("pk", flat=True))
        matches = [pk for pk in window if pk in found]
        if len(matches) >= top or len(window) < WINDOW:  # the list's first rows hold this page's matches
            return self._rows_of(matches[bottom:top], 0, top - bottom)
        with transaction.atomic():  # else the matches through their own (trigram) index, then sorted
            _planner_without("enable_indexscan")
            ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        return self._rows_of(ids, 0, top - bottom)


def _planner_without(setting: str) -> None:
    """Turn a PostgreSQL plan type off for the rest of the transaction (a no-op elsewhere)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL {setting} = off")


def _page_number(value: str) -> int:
    return int(value) if value.isdigit() and len(value) < 9 else 1


def list_page(queryset, state: ListState, *, unsearched=None):
    """The page of rows the state asks for ("last", or out of range: the nearest page).

    `unsearched`: the list without its search filter (same filters otherwise, same order), when the
    list has a search box; it lets a common term's page be found among the list's first rows."""
    last = state.page == "last"
    number = None if last else _page_number(state.page)
    paginator = CappedPaginator(queryset, state.per_page, page=number, unsearched=unsearched)
    return paginator.get_page(paginator.num_pages if last else state.page)
