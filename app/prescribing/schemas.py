"""JSON shapes of the prescribing endpoints."""
from __future__ import annotations

from datetime import date

import pydantic

from core.api.validation import ApiSchema


class RowRequest(ApiSchema):
    article_number: str = pydantic.Field(min_length=1, max_length=20)
    withdrawals: int = pydantic.Field(ge=1, le=52)
    period_days: int | None = pydantic.Field(default=None, ge=1, le=365)
    packages_per_withdrawal: int | None = pydantic.Field(default=None, ge=1, le=9999)
    pieces_per_day: str | None = pydantic.Field(default=None, max_length=10, pattern=r"^\d+([.,]\d+)?(/\d+)?$")
    recommendation: str | None = pydantic.Field(default=None, max_length=500)
    copied_from_row_id: int | None = pydantic.Field(default=None, ge=1)


class PrescriptionRequest(ApiSchema):
    patient_id: int = pydantic.Field(ge=1)
    product_area: str = pydantic.Field(min_length=1, max_length=20)
    unit_id: int = pydantic.Field(ge=1)
    rows: list[RowRequest] = pydantic.Field(min_length=1, max_length=30)


class CopyRequest(ApiSchema):
    patient_id: int = pydantic.Field(ge=1)
    row_ids: list[int] = pydantic.Field(min_length=1, max_length=30)
    unit_id: int = pydantic.Field(ge=1)


class CreatedRow(pydantic.BaseModel):
    id: int
    article_number: str
    packages_per_withdrawal: int
    period_days: int
    withdrawals: int
    valid_until: date


class PrescriptionResponse(pydantic.BaseModel):
    number: int
    patient_id: int
    product_area: str
    unit_id: int
    prescriber: str
    prescribed_on: date
    rows: list[CreatedRow]


class CancelResponse(pydantic.BaseModel):
    id: int
    status: str


class QuantityRequest(ApiSchema):
    article_number: str = pydantic.Field(min_length=1, max_length=20)
    withdrawals: int = pydantic.Field(ge=1, le=52)
    period_days: int | None = pydantic.Field(default=None, ge=1, le=365)
    packages_per_withdrawal: int | None = pydantic.Field(default=None, ge=1, le=9999)
    pieces_per_day: str | None = pydantic.Field(default=None, max_length=10, pattern=r"^\d+([.,]\d+)?(/\d+)?$")


class QuantityResponse(pydantic.BaseModel):
    package_size: int
    period_days: int
    withdrawals: int
    packages_per_withdrawal: int
    pieces_per_withdrawal: int
    pieces_per_day: str
    total_packages: int


class OptionsResponse(pydantic.BaseModel):
    product_areas: list[str]
    units: dict[str, list[dict]]
