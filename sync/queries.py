"""Reads of the outbox for the back-registration pages and API: one paged, sortable list of items."""
from __future__ import annotations

from sqlalchemy import Select, select
from werkzeug.datastructures import MultiDict

from core.web.tables import Column, Page, TableState, paginate_query
from sync.models import OutboxItem

COLUMNS = (
    Column("created_at", "Registrerad", OutboxItem.created_at),
    Column("kind", "Typ", OutboxItem.kind),
    Column("channel", "Kanal", OutboxItem.channel),
    Column("state", "Läge", OutboxItem.state),
    Column("attempts", "Försök", OutboxItem.attempts),
    Column("reason", "Orsak"),
    Column("open", ""),
)


def items_query(states: tuple[str, ...] | None = None, kinds: tuple[str, ...] | None = None) -> Select:
    """Return the outbox items in any of the states (all when None), optionally of some kinds only."""
    query = select(OutboxItem)
    if states is not None:
        query = query.where(OutboxItem.state.in_(states))
    if kinds is not None:
        query = query.where(OutboxItem.kind.in_(kinds))
    return query


def items_page(args: MultiDict, states: tuple[str, ...] | None = None,
               kinds: tuple[str, ...] | None = None) -> Page:
    """Return one page of items, oldest first unless `sort`/`dir` in the arguments say otherwise."""
    state = TableState.from_args(args, COLUMNS, default_sort="created_at")
    return paginate_query(items_query(states, kinds), COLUMNS, state, tie_breaker=OutboxItem.id)
