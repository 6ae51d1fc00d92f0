"""JSON shapes of the withdrawal, order and stock endpoints."""
from __future__ import annotations

from datetime import date
from typing import Literal

import pydantic

from core.api.queries import TableQuery
from core.api.types import UtcMoment
from core.api.validation import ApiSchema


class WithdrawalQuery(TableQuery):
    q: str | None = pydantic.Field(default=None, max_length=10, description="U-number or its beginning")
    patient: str | None = pydantic.Field(default=None, max_length=13, description="personnummer")
    unit: str | None = pydantic.Field(default=None, max_length=9, description="unit id")
    status: Literal["new", "sent", "delivered", "aborted"] | None = None
    from_: date | None = pydantic.Field(default=None, alias="from")
    to: date | None = None


class OrderQuery(TableQuery):
    type: str | None = pydantic.Field(default=None, max_length=40)
    missing_outbound_delivery: Literal["true", "false"] | None = None


class StockQuery(TableQuery):
    warehouse: str | None = pydantic.Field(default=None, max_length=9, description="warehouse number, default 10")
    q: str | None = pydantic.Field(default=None, max_length=60)


class WithdrawalRequest(ApiSchema):
    row_id: int = pydantic.Field(ge=1)
    packages: int = pydantic.Field(ge=1, le=9999)


class WithdrawalResponse(pydantic.BaseModel):
    number: str = pydantic.Field(description="U-number: U + 9 digits")
    status: str = pydantic.Field(description="new | sent | delivered | aborted")
    status_label: str
    packages: int
    channel: str = pydantic.Field(description="customer_service | prescriber | e_service")
    row_id: int
    patient_id: int
    article_number: str
    unit_id: int
    ordered_at: UtcMoment
    sent_at: UtcMoment | None
    delivered_at: UtcMoment | None
    aborted_at: UtcMoment | None


class WithdrawalItem(WithdrawalResponse):
    personnummer: str
    patient_name: str
    article_name: str
    unit_name: str


class WithdrawalPage(pydantic.BaseModel):
    total: int
    capped: bool = pydantic.Field(description="true when more matched than the newest `total` shown")
    page: int
    per_page: int
    withdrawals: list[WithdrawalItem]


class OrderLineRequest(ApiSchema):
    article_number: str = pydantic.Field(min_length=1, max_length=20)
    quantity: int = pydantic.Field(ge=1, le=9999)


class OrderRequest(ApiSchema):
    type: str = pydantic.Field(max_length=30, description="order | prescription | direct_prescription | stock_move")
    from_warehouse: int | None = pydantic.Field(
        default=None, ge=1, description="sending warehouse number; prescription and stock_move default to 10")
    to_warehouse: int | None = pydantic.Field(default=None, ge=1, description="stock_move: the municipal stock")
    unit_id: int | None = pydantic.Field(default=None, ge=1,
                                         description="order: receiving care unit; prescriptions: prescribing unit")
    patient_id: int | None = pydantic.Field(default=None, ge=1, description="prescriptions only")
    lines: list[OrderLineRequest] = pydantic.Field(min_length=1, max_length=30)


class OrderLineResponse(pydantic.BaseModel):
    article_number: str
    quantity: int


class OrderResponse(pydantic.BaseModel):
    id: int
    type: str
    status: str = pydantic.Field(description="awaiting_outbound | complete")
    from_warehouse: int
    to_warehouse: int | None
    unit_id: int | None
    patient_id: int | None
    created_at: UtcMoment
    outbound_delivered_at: UtcMoment | None
    lines: list[OrderLineResponse]


class OrderPage(pydantic.BaseModel):
    total: int
    page: int
    per_page: int
    orders: list[OrderResponse]


class OutboundDeliveryResponse(pydantic.BaseModel):
    order_id: int
    status: str
    delivered_at: UtcMoment


class StockItem(pydantic.BaseModel):
    article_number: str
    article_name: str
    quantity: int


class StockPage(pydantic.BaseModel):
    warehouse: int
    total: int
    page: int
    per_page: int
    stock_levels: list[StockItem]
