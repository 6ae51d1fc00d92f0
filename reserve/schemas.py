"""Request and response schemas of the reserve routine's JSON API."""
from __future__ import annotations

from typing import Literal

import pydantic

from core.api.queries import QueryModel
from core.api.validation import ApiSchema
from reserve.rules import CHANNELS, KINDS, MAX_NOTE

Kind = Literal[KINDS]  # type: ignore[valid-type]
Channel = Literal[CHANNELS]  # type: ignore[valid-type]


class CaptureRequest(ApiSchema):
    """One item phoned in, e-mailed or written on paper; fields as the kind needs."""

    kind: Kind
    channel: Channel
    patient: str | None = pydantic.Field(None, max_length=13, description="Personnummer ÅÅÅÅMMDDXXXX")
    unit: str | None = pydantic.Field(None, max_length=20, description="The care unit's customer number")
    article: str | None = pydantic.Field(None, max_length=20, description="Article number")
    # Not strict: a sane quantity is checked by the service so a 0 or 10 000 gets the domain's message.
    packages: int | None = pydantic.Field(None, strict=False)
    responsible_prescriber: str | None = pydantic.Field(None, max_length=64, description="Username or HSA-id")
    work_order_type: str | None = pydantic.Field(None, max_length=20)
    note: str | None = pydantic.Field(None, max_length=MAX_NOTE)
    reserve_number: str | None = pydantic.Field(None, max_length=12,
                                                description="The pre-printed number of a paper form (channel paper)")


class ItemChangeRequest(ApiSchema):
    """A change of a captured item: always refused (cancel and capture again)."""

    work_order_type: str | None = None
    note: str | None = None
    packages: int | None = None
    channel: str | None = None
    responsible_prescriber: str | None = None


class ItemListQuery(QueryModel):
    incident_id: int | None = pydantic.Field(default=None, ge=1, le=2**31 - 1)
    status: Literal["captured", "cancelled", "all"] | None = None


class ChecklistQuery(QueryModel):
    incident_id: int | None = pydantic.Field(default=None, ge=1, le=2**31 - 1)


class CancelRequest(ApiSchema):
    reason: str = pydantic.Field(min_length=1, max_length=500)


class ItemResponse(pydantic.BaseModel):
    reserve_number: str
    kind: str
    channel: str
    status: str
    priority: int
    incident_id: int
    patient: str | None
    unit: str | None
    article: str | None
    packages: int | None
    responsible_prescriber: str | None
    work_order_type: str | None
    note: str | None
    captured_by: str
    captured_at: str
    possible_duplicate_of: str | None
    existing_active_row: bool
    cancelled_at: str | None
    registered_at: str | None
    warnings: list[str] = []


class ItemListResponse(pydantic.BaseModel):
    items: list[ItemResponse]


class StepResponse(pydantic.BaseModel):
    id: int
    key: str
    title: str
    role: str
    due_at: str | None
    state: str
    automatic: str | None
    done_at: str | None
    done_by: str | None
    note: str | None


class ChecklistResponse(pydantic.BaseModel):
    id: int
    incident_id: int
    runbook: str
    title: str
    superseded: bool
    steps: list[StepResponse]


class ChecklistListResponse(pydantic.BaseModel):
    checklists: list[ChecklistResponse]


class StepDoneRequest(ApiSchema):
    note: str | None = pydantic.Field(None, max_length=2000)


class CallRequest(ApiSchema):
    caller_type: str
    topic: str
    outcome: str
    note: str | None = pydantic.Field(None, max_length=500)
    item: str | None = pydantic.Field(None, max_length=12, description="Reserve number of an item captured")


class CallResponse(pydantic.BaseModel):
    id: int
    at: str
    caller_type: str
    topic: str
    outcome: str
    note: str | None
    item: str | None
    incident_id: int | None
