"""JSON shapes of the patient endpoints."""
from __future__ import annotations

from datetime import date
from typing import Literal

import pydantic

from core.api.queries import QueryModel, TableQuery
from core.api.validation import ApiSchema


class PatientSearchQuery(TableQuery):
    q: str | None = pydantic.Field(default=None, max_length=40)
    article: str | None = pydantic.Field(default=None, max_length=60)
    rows: Literal["active", "inactive", "both"] | None = None


class PatientOverviewQuery(QueryModel):
    area: str | None = pydantic.Field(default=None, max_length=200, description="comma-separated area codes")


class PatientSummary(pydantic.BaseModel):
    id: int
    personnummer: str
    first_name: str
    last_name: str
    city: str | None


class PatientSearchResult(pydantic.BaseModel):
    total: int
    page: int
    per_page: int
    patients: list[PatientSummary]


class Address(pydantic.BaseModel):
    street: str | None
    postal_code: str | None
    city: str | None


class Contact(ApiSchema):
    name: str = pydantic.Field(min_length=1, max_length=150)
    relation: str | None = pydantic.Field(default=None, max_length=60)
    phone: str | None = pydantic.Field(default=None, pattern=r"^[0-9 +()-]{5,20}$")


class RowSummary(pydantic.BaseModel):
    id: int
    prescription_number: int
    article_number: str
    article_name: str
    product_area: str
    packages_per_withdrawal: int
    withdrawals: int
    withdrawals_left: int
    period_days: int
    prescribed_on: date
    valid_until: date
    prescriber: str
    status: str
    recommendation: str | None


class PatientOverviewResponse(pydantic.BaseModel):
    id: int
    personnummer: str
    first_name: str
    last_name: str
    registered_address: Address
    delivery_address: Address
    contacts: list[dict]
    nutrition_category: str | None
    special_housing: bool
    product_areas: list[str]
    active_rows: list[RowSummary]
    closed_rows: list[RowSummary]
    register_problem: str | None


class PatientDetailsRequest(ApiSchema):
    delivery_street: str | None = pydantic.Field(default=None, max_length=150)
    delivery_postal_code: str | None = pydantic.Field(default=None, pattern=r"^\d{3} ?\d{2}$")
    delivery_city: str | None = pydantic.Field(default=None, max_length=100)
    nutrition_category: Literal["full_nutrition"] | None = None
    special_housing: bool = False
    contacts: list[Contact] = pydantic.Field(default_factory=list, max_length=3)

