"""Request and response schemas of the back-registration JSON API (/api/v1/sync)."""
from __future__ import annotations

from typing import Literal

import pydantic

from core.api.queries import QueryModel, TableQuery
from core.api.validation import ApiSchema
from sync.review import MAX_NOTE

# The API's names for the conflict resolutions (sync.rules: link, cancel_local, send_as_new).
Resolution = Literal["link", "cancel", "send_as_new"]


class NoteRequest(ApiSchema):
    """Approve an item waiting for review; the note is optional and goes to the audit trail."""

    note: str | None = pydantic.Field(None, max_length=MAX_NOTE)


class CancelRequest(ApiSchema):
    """Cancel an item the main server cannot have yet; the reason goes to the audit trail."""

    note: str = pydantic.Field(max_length=MAX_NOTE, description="Why it is cancelled (required)")


class ResolveRequest(ApiSchema):
    """Resolve a conflict: link to the server's record, cancel the local one, or send it anew."""

    resolution: Resolution
    note: str = pydantic.Field(max_length=MAX_NOTE, description="Why (required)")


class StateCount(pydantic.BaseModel):
    state: str
    label: str
    count: int


class ProgressResponse(pydantic.BaseModel):
    """Counts per state, rate and time left; numbers only."""

    backlog: int = pydantic.Field(description="pending and in flight: still to go out by itself")
    waiting_for_people: int = pydantic.Field(description="in review, conflict, refused or blocked")
    registered_last_24h: int
    counts: list[StateCount]
    rate_per_second: float | None
    seconds_left: int | None
    percent_done: float
    paused: bool = pydantic.Field(description="the circuit breaker holds sending back")
    paused_until: str | None
    data_as_of: str | None = pydantic.Field(description="the last pull that reached the end of the changes feed")
    active: bool


class ItemListQuery(TableQuery):
    state: str | None = pydantic.Field(default=None, max_length=200, description="states, comma-separated")
    kind: str | None = pydantic.Field(default=None, max_length=200, description="kinds, comma-separated")


class ReconciliationQuery(QueryModel):
    verify: Literal["true", "false"] | None = None


class ItemResponse(pydantic.BaseModel):
    """An outbox item's traceability: who captured it, when, how, under which incident, who approved it, and
    when and under which id the main server registered it."""

    key: str
    kind: str
    state: str
    state_label: str
    channel: str
    captured_by: str | None
    captured_at: str
    incident_id: int | None
    approved_by: str | None
    approved_at: str | None
    registered_at: str | None
    server_id: str | None
    attempts: int
    last_error: str | None
    conflict_server_id: str | None
    resolution: str | None
    supersedes_key: str | None
    superseded_by_key: str | None
    final_key: str = pydantic.Field(description="the end of the chain of edits and re-sends")


class ItemPage(pydantic.BaseModel):
    total: int
    page: int
    per_page: int
    items: list[ItemResponse]


class ResolveResponse(pydantic.BaseModel):
    conflict_key: str
    resolution: Resolution
    item: ItemResponse = pydantic.Field(description="the item that now carries the registration (a new key when "
                                                    "sent anew)")


class BalanceResponse(pydantic.BaseModel):
    captured: int
    registered: int
    resolved: int
    cancelled: int
    outstanding: int
    balanced: bool = pydantic.Field(description="captured = registered + resolved + cancelled, nothing outstanding")


class ReconciliationLine(pydantic.BaseModel):
    key: str
    kind: str
    channel: str
    captured_by: str | None
    captured_at: str
    approved_by: str | None
    approved_at: str | None
    outcome: str
    final_key: str
    final_state: str
    server_id: str | None
    registered_at: str | None
    resolution: str | None
    edits: int
    difference: str | None


class ReportHeader(pydantic.BaseModel):
    incident_id: int
    incident_title: str
    started_at: str
    resolved_at: str | None
    generated_at: str
    verified: bool = pydantic.Field(description="registered lines were checked against the main server")
    verify_error: str | None


class ReconciliationResponse(ReportHeader):
    """An incident's reconciliation (avstämning): every item captured under it and where it ended."""

    balance: BalanceResponse
    lines: list[ReconciliationLine]
