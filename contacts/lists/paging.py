"""A list's page of rows at any table size: the total counted up to a bound, the rows read the cheap way.

Counting every match of "a" in a million contacts costs a scan; so does, for PostgreSQL, its favourite
plan for "the first 25 by name among the matches" when the matches sit late in name order (it walks the
name index filtering row by row, sure they are spread evenly; every "Garcia" is under G). So a page is
read in one of three ways, each bounded:

- at most the counting bound of matches: found through their own index (trigram, tag, owner...) and
  sorted, never by walking the list's order (a cost of the matches, not of the table);
- more, on a searched list: looked for among the list's first WINDOW rows, which one query reads in order
  with a match flag (common terms fill a page there);
- failing that, as in the first case: the matches through their own index, sorted.
"""

from contextlib import contextmanager

from django.core.paginator import Page, Paginator
from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils.functional import cached_property

from .state import ListState

COUNT_CAP = 5_000
WINDOW = 3_000


class CappedPaginator(Paginator):
    """Counts at least COUNT_CAP rows and always one page past `page` (so "Next" is right); past the bound
    the total is a lower bound (`capped`, shown as "5,000+"). `page=None` counts everything (the last
    page, asked for). `unsearched` is the same list without the search filter `search` (same order)."""

    def __init__(
        self, object_list, per_page, *, page: int | None = 1, unsearched=None, search: Q | None = None
    ):
        super().__init__(object_list, per_page)
        self.bound = None if page is None else max(COUNT_CAP, (page + 1) * per_page)
        self.capped = False
        self.unsearched = unsearched if search else None
        self.search = search

    @cached_property
    def count(self) -> int:
        if self.bound is None:
            return super().count
        found = self.object_list.order_by().values("pk")[: self.bound + 1].count()
        self.capped = found > self.bound
        return min(found, self.bound)

    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if not self.capped:
            rows = self._rows_sorted_from_matches(bottom, top)
        elif self.unsearched is not None and top <= WINDOW:
            rows = self._rows_from_window(bottom, top)
        else:
            rows = list(self.object_list[bottom:top])
        return Page(rows, number, self)

    def _rows_by_id(self, ids: list[int]) -> list:
        # The rows of a page's ids, without the search filter: "LIKE '%x%' AND id IN (...)" would again
        # tempt the planner into walking the list's order.
        base = self.unsearched if self.unsearched is not None else self.object_list
        return list(base.filter(pk__in=ids)) if ids else []

    def _rows_sorted_from_matches(self, bottom: int, top: int) -> list:
        with _planner_without("enable_indexscan"):  # no walk of the list's order: the matches, then a sort
            ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        return self._rows_by_id(ids)

    def _rows_from_window(self, bottom: int, top: int) -> list:
        flagged = self.unsearched.annotate(_hit=ExpressionWrapper(self.search, output_field=BooleanField()))
        window = list(flagged.values_list("pk", "_hit")[:WINDOW])
        matches = [pk for pk, hit in window if hit]
        if len(matches) >= top or len(window) < WINDOW:  # the list's first rows hold this page's matches
            return self._rows_by_id(matches[bottom:top])
        return self._rows_sorted_from_matches(bottom, top)


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


def list_page(queryset, state: ListState, *, unsearched=None, search: Q | None = None):
    """The page of rows the state asks for ("last", or out of range: the nearest page).

    A list with a search box passes `unsearched` (the list without its search filter, same order) and
    `search` (that filter): a common term's page is then found among the list's first rows."""
    last = state.page == "last"
    number = None if last else _page_number(state.page)
    paginator = CappedPaginator(queryset, state.per_page, page=number, unsearched=unsearched, search=search)
    return paginator.get_page(paginator.num_pages if last else state.page)
