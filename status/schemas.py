"""Request and response schemas of the status API."""
from __future__ import annotations

from typing import Literal

import pydantic

from core.api.validation import ApiSchema
from status.scenarios import INCIDENT_STATUSES

# JSON has no datetime type: these fields accept an ISO 8601 string with an explicit offset.
AwareMoment = pydantic.AwareDatetime


class DriftinfoRequest(ApiSchema):
    title: str = pydantic.Field(min_length=1, max_length=200)
    body: str = pydantic.Field(min_length=1, max_length=2000)
    incident_id: int | None = None
    valid_until: AwareMoment | None = pydantic.Field(default=None, strict=False)


class DriftinfoResponse(pydantic.BaseModel):
    id: int
    published_at: str


class DriftinfoWithdrawRequest(ApiSchema):
    reason: str = pydantic.Field(min_length=1, max_length=1000)


class DriftinfoWithdrawResponse(pydantic.BaseModel):
    id: int
    withdrawn_at: str
    reason: str


class PrognosisRequest(ApiSchema):
    text: str = pydantic.Field(min_length=1, max_length=2000)
    expected_restoration_at: AwareMoment = pydantic.Field(strict=False)


class IncidentUpdateRequest(ApiSchema):
    status: Literal[INCIDENT_STATUSES]  # type: ignore[valid-type]
    message: str = pydantic.Field(min_length=1, max_length=2000)
    # Resolving withdraws these driftinfo notices (ignored for other statuses).
    close_driftinfo: list[int] = pydantic.Field(default_factory=list, max_length=100)


class IncidentResponse(pydantic.BaseModel):
    id: int
    scenario: str
    status: str
    started_at: str
    reserve_due_at: str | None
    prognosis_text: str | None
    expected_restoration_at: str | None
    reserve_active: bool


class TimelineEntryResponse(pydantic.BaseModel):
    id: int
    incident_id: int
    at: str
    status: str
    message: str


class ReserveActivateRequest(ApiSchema):
    reason: str = pydantic.Field(min_length=1, max_length=1000)
    incident_id: int | None = None


class ReserveDeactivateRequest(ApiSchema):
    reason: str = pydantic.Field(min_length=1, max_length=1000)
    close_driftinfo: list[int] = pydantic.Field(default_factory=list, max_length=100)  # withdrawn with it


class ReserveStateResponse(pydantic.BaseModel):
    active: bool
    incident_id: int | None
    scenario: str | None
    since: str | None
    activated_by: str | None
    started_at: str | None
    reserve_due_at: str | None
    prognosis_text: str | None
    expected_restoration_at: str | None


class TelephonyRequest(ApiSchema):
    disrupted: bool
    message: str = pydantic.Field(min_length=1, max_length=2000)


class TelephonyResponse(pydantic.BaseModel):
    disrupted: bool
    incident: IncidentResponse | None


class MaintenanceRequest(ApiSchema):
    component: Literal["main_server", "reference_target", "customer_service"]
    starts_at: AwareMoment = pydantic.Field(strict=False)
    ends_at: AwareMoment = pydantic.Field(strict=False)
    reason: str = pydantic.Field(min_length=1, max_length=500)


class MaintenanceResponse(pydantic.BaseModel):
    id: int
    component: str
    starts_at: str
    ends_at: str


class HeartbeatResponse(pydantic.BaseModel):
    received_at: str
