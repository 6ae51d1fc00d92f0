"""One sortable, paged table for every list in the UI (10 rows by default, 5–50 selectable)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from math import ceil
from typing import Any

from flask import request, url_for
from sqlalchemy import Select, bindparam, func, select
from werkzeug.datastructures import MultiDict

from core.extensions import db

PAGE_SIZES = (5, 10, 20, 30, 50)
DEFAULT_PAGE_SIZE = 10
ARROWS = {"asc": "▲", "desc": "▼"}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    # An SQL expression for query tables, or a key function for in-memory tables; None = not sortable.
    sort: Any = None

    @property
    def sortable(self) -> bool:
        return self.sort is not None


@dataclass(frozen=True)
class TableState:
    """Sort column, direction, page and page size as read from the query string."""

    sort: str | None
    direction: str
    page: int
    per_page: int
    prefix: str = ""

    @classmethod
    def from_args(cls, args: MultiDict, columns: Sequence[Column], default_sort: str | None = None,
                  default_direction: str = "asc", prefix: str = "") -> TableState:
        sortable = {c.key for c in columns if c.sortable}
        sort = args.get(f"{prefix}sort")
        direction = args.get(f"{prefix}dir")
        if sort not in sortable:
            sort, direction = default_sort, default_direction
        if direction not in ARROWS:
            direction = default_direction
        per_page = args.get(f"{prefix}per_page", type=int) or DEFAULT_PAGE_SIZE
        if per_page not in PAGE_SIZES:
            per_page = DEFAULT_PAGE_SIZE
        page = max(args.get(f"{prefix}page", type=int) or 1, 1)
        return cls(sort, direction, page, per_page, prefix)


@dataclass
class Page:
    rows: list
    total: int
    state: TableState
    columns: Sequence[Column]
    page_sizes: tuple[int, ...] = field(default=PAGE_SIZES)

    @property
    def pages(self) -> int:
        return max(ceil(self.total / self.state.per_page), 1)

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.state.page - 1) * self.state.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.state.page * self.state.per_page, self.total)

    def arrow(self, column: Column) -> str:
        return ARROWS[self.state.direction] if column.key == self.state.sort else ""

    def aria_sort(self, column: Column) -> str:
        if column.key != self.state.sort:
            return "none"
        return "ascending" if self.state.direction == "asc" else "descending"

    def next_direction(self, column: Column) -> str:
        if column.key == self.state.sort and self.state.direction == "asc":
            return "desc"
        return "asc"

    def url(self, **changes: Any) -> str:
        """Return the current page's URL with this table's sort/page arguments changed."""
        args = request.args.to_dict(flat=False)
        for key, value in changes.items():
            args[f"{self.state.prefix}{key}"] = [str(value)]
        return url_for(request.endpoint, **(request.view_args or {}), **args)

    def hidden_args(self) -> list[tuple[str, str]]:
        """Return the query arguments to carry along when only the page size changes."""
        skip = {f"{self.state.prefix}per_page", f"{self.state.prefix}page"}
        return [(k, v) for k, values in request.args.lists() if k not in skip for v in values]


def paginate_query(query: Select, columns: Sequence[Column], state: TableState, *,
                   scalars: bool = True, tie_breaker: Any = None) -> Page:
    """Return one page of an SQL query, sorted by the chosen column."""
    total = db.session.scalar(count_of(query)) or 0
    state = _clamp(state, total)
    query = sorted_by(query, columns, state.sort, state.direction, tie_breaker)
    query = query.limit(state.per_page).offset((state.page - 1) * state.per_page)
    result = db.session.execute(query)
    rows = list(result.scalars()) if scalars else list(result)
    return Page(rows, total, state, columns)


def paginate_prepared(count: Select, rows: Select, params: dict[str, Any], columns: Sequence[Column],
                      state: TableState) -> Page:
    """Return one page of a query built once, its values bound per call (a hot path's table).

    `count` is `count_of(query)`; `rows` is the query `sorted_by` the state's column, ending in
    `paged()`. Built once, SQLAlchemy reuses their cache keys and compiled forms.
    """
    connection = db.session.connection()  # column rows only: the session's ORM layer has nothing to do
    total = connection.execute(count, params).scalar() or 0
    state = _clamp(state, total)
    found = connection.execute(rows, {**params, "limit": state.per_page, "offset": (state.page - 1) * state.per_page})
    return Page(list(found), total, state, columns)


def count_of(query: Select) -> Select:
    """Return SELECT count(*) over the query's rows."""
    return select(func.count()).select_from(query.order_by(None).subquery())


def sorted_by(query: Select, columns: Sequence[Column], sort: str | None, direction: str,
              tie_breaker: Any = None) -> Select:
    """Return the query ordered by the column with key `sort` (unchanged when it is not one of them)."""
    by_key = {c.key: c for c in columns}
    if sort not in by_key:
        return query
    expr = by_key[sort].sort
    query = query.order_by(None).order_by(expr.desc() if direction == "desc" else expr.asc())
    return query.order_by(tie_breaker) if tie_breaker is not None else query


def paged(query: Select) -> Select:
    """Return the query with LIMIT :limit OFFSET :offset, for `paginate_prepared`."""
    return query.limit(bindparam("limit")).offset(bindparam("offset"))


def paginate_list(items: Sequence, columns: Sequence[Column], state: TableState) -> Page:
    """Return one page of an in-memory list, sorted with the chosen column's key function."""
    total = len(items)
    state = _clamp(state, total)
    by_key = {c.key: c for c in columns}
    ordered = list(items)
    if state.sort in by_key:
        key: Callable = by_key[state.sort].sort
        ordered.sort(key=lambda item: _none_last(key(item)), reverse=state.direction == "desc")
    start = (state.page - 1) * state.per_page
    return Page(ordered[start:start + state.per_page], total, state, columns)


def _none_last(value: Any) -> tuple[bool, Any]:
    return (value is None, value if value is not None else 0)


def _clamp(state: TableState, total: int) -> TableState:
    last_page = max(ceil(total / state.per_page), 1)
    if state.page <= last_page:
        return state
    return TableState(state.sort, state.direction, last_page, state.per_page, state.prefix)
