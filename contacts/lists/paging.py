"""A list's page of rows at any table size: the total counted up to a bound, the rows read the cheap way.

Counting every match of "a" in a million contacts costs a scan; so does, for PostgreSQL, the planner's
favourite plan for "the first 25 by name among the matches" when the matches sit late in name order
(it walks the name index and filters, sure they are spread evenly). So a page is read in one of three
ways, each bounded: few matches (at most the counting bound) are read by their ids; many matches are
first looked for among the first WINDOW rows in the list's order (cheap when they are common); failing
that, the matches are read through their own index and sorted (a cost of the matches, not the table).
"""

from contextlib import contextmanager

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
        # Without the search filter ("LIKE '%x%' AND id IN (...)" tempts the planner to walk the list's
        # order filtering row by row), and sorted without that walk either: the ids may all sit late in the
        # order (every "Garcia" under G), where the walk would pass most of the table first.
        base = self.unsearched if self.unsearched is not None else self.object_list
        with _planner_without("enable_indexscan"):
            ids = list(base.filter(pk__in=ids).values_list("pk", flat=True)[bottom:top])
        return list(base.filter(pk__in=ids))

    def _rows_many_matches(self, bottom: int, top: int) -> list:
        window = list(self.unsearched.values_list("pk", flat=True)[:WINDOW])
        with _planner_without("enable_bitmapscan"):  # which of them match: by primary key, each row checked
            found = set(self.object_list.order_by().filter(pk__in=window).values_list("pk", flat=True))
        matches = [pk for pk in window if pk in found]
        if len(matches) >= top or len(window) < WINDOW:  # the list's first rows hold this page's matches
            return self._rows_of(matches[bottom:top], 0, top - bottom)
        with _planner_without("enable_indexscan"):  # else the matches through their own index, then sorted
            ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        return self._rows_of(ids, 0, top - bottom)


@contextmanager
def _planner_without(setting: str):
    """A PostgreSQL plan type off for the queries inside (a transaction of their own); elsewhere nothing."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL {setting} = off")
        yield


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
