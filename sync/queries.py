"""Reads of the outbox for the back-registration pages and API: one paged, sortable list of items."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Select, select
from werkzeug.datastructures import MultiDict

from core.extensions import db
from core.models import PrescribingUnit
from core.web.tables import Column, Page, TableState, paginate_query
from sync.models import OutboxItem
from sync.rules import CHANNEL_LABELS, KIND_LABELS

COLUMNS = (
    Column("created_at", "Registrerad", OutboxItem.created_at),
    Column("kind", "Typ", OutboxItem.kind),
    Column("channel", "Kanal", OutboxItem.channel),
    Column("state", "Läge", OutboxItem.state),
    Column("attempts", "Försök", OutboxItem.attempts),
    Column("reason", "Orsak"),
    Column("open", ""),
)


@dataclass(frozen=True)
class Filters:
    """The review queue's filters: kind, unit (customer number) and channel; empty means all."""

    kind: str = ""
    unit: str = ""
    channel: str = ""

    def args(self) -> dict[str, str]:
        return {name: value for name, value in (("typ", self.kind), ("enhet", self.unit), ("kanal", self.channel))
                if value}


def parse_filters(args: Mapping[str, str], kinds: tuple[str, ...]) -> tuple[Filters, dict[str, str]]:
    """Return the filters from the query string, and a Swedish message per field with an unknown value."""
    kind, unit, channel = (args.get(name, "").strip() for name in ("typ", "enhet", "kanal"))
    errors = {}
    if kind and kind not in kinds:
        errors["typ"], kind = f"Okänd typ: {kind}. Alla typer du granskar visas.", ""
    if channel and channel not in CHANNEL_LABELS:
        errors["kanal"], channel = f"Okänd kanal: {channel}. Alla kanaler visas.", ""
    if unit and db.session.scalar(select(PrescribingUnit.id).where(PrescribingUnit.customer_number == unit)) is None:
        errors["enhet"], unit = f"Ingen enhet har kundnummer {unit}. Alla enheter visas.", ""
    return Filters(kind, unit, channel), errors


def filter_choices(kinds: tuple[str, ...]) -> dict[str, list[tuple[str, str]]]:
    """Return the options of the filters: the kinds reviewed, every unit, every channel."""
    units = db.session.execute(select(PrescribingUnit.customer_number, PrescribingUnit.name)
                               .order_by(PrescribingUnit.name)).all()
    return {"typ": [(k, KIND_LABELS[k]) for k in kinds],
            "enhet": [(number, f"{name} ({number})") for number, name in units],
            "kanal": list(CHANNEL_LABELS.items())}


def _unit_pattern(customer_number: str) -> str:
    # The payload is canonical JSON (sorted keys, no spaces), so the unit reads the same in every item.
    text = json.dumps({"customer_number": customer_number}, separators=(",", ":"), ensure_ascii=False)
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f'%"unit":{escaped}%'


def items_query(states: tuple[str, ...] | None = None, kinds: tuple[str, ...] | None = None,
                filters: Filters | None = None) -> Select:
    """Return the outbox items in any of the states (all when None), optionally of some kinds only, filtered."""
    query = select(OutboxItem)
    if states is not None:
        query = query.where(OutboxItem.state.in_(states))
    if kinds is not None:
        query = query.where(OutboxItem.kind.in_(kinds))
    if filters is not None:
        if filters.kind:
            query = query.where(OutboxItem.kind == filters.kind)
        if filters.channel:
            query = query.where(OutboxItem.channel == filters.channel)
        if filters.unit:
            query = query.where(OutboxItem.payload.like(_unit_pattern(filters.unit), escape="\\"))
    return query


def items_page(args: MultiDict, states: tuple[str, ...] | None = None,
               kinds: tuple[str, ...] | None = None, filters: Filters | None = None) -> Page:
    """Return one page of items, oldest first unless `sort`/`dir` in the arguments say otherwise."""
    state = TableState.from_args(args, COLUMNS, default_sort="created_at")
    return paginate_query(items_query(states, kinds, filters), COLUMNS, state, tie_breaker=OutboxItem.id)
