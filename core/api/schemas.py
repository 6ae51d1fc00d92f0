"""Request and response schemas of the account endpoints."""
from __future__ import annotations

import pydantic

from core.api.types import UtcMoment
from core.api.validation import ApiSchema


class TokenRequest(ApiSchema):
    username: str = pydantic.Field(min_length=1, max_length=64)
    password: str = pydantic.Field(min_length=1, max_length=256)


class TokenResponse(pydantic.BaseModel):
    token: str
    expires_at: UtcMoment


class MeResponse(pydantic.BaseModel):
    username: str
    name: str
    roles: list[str]
    product_areas: list[str]
    unit_customer_numbers: list[str]


class HealthResponse(pydantic.BaseModel):
    status: str
    version: str
    store: dict
