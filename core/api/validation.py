"""Parse JSON bodies into pydantic schemas; every error names its field."""
from __future__ import annotations

from typing import Any, TypeVar

import pydantic
from flask import request

from core.errors import FieldError, ValidationFailed

T = TypeVar("T", bound=pydantic.BaseModel)


# The store's INTEGER columns: 32 bits on PostgreSQL.
INTEGER_MIN, INTEGER_MAX = -(2**31), 2**31 - 1


def check_integer_bounds(value: Any) -> Any:
    """Refuse an integer (or a list holding one) that the store's INTEGER columns cannot hold."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool) and not INTEGER_MIN <= item <= INTEGER_MAX:
            raise ValueError(f"must be an integer between {INTEGER_MIN} and {INTEGER_MAX}")
    return value


class ApiSchema(pydantic.BaseModel):
    """Base of request schemas: unknown fields refused, types strict, strings and integers bounded."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True, str_max_length=2000)

    _integer_bounds = pydantic.field_validator("*", mode="after")(check_integer_bounds)


def _field_name(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "body"


def field_errors(exc: pydantic.ValidationError) -> list[FieldError]:
    """Return pydantic's errors as field/message pairs."""
    return [FieldError(_field_name(err["loc"]), err["msg"]) for err in exc.errors(include_url=False)]


def parse_json(schema: type[T]) -> T:
    """Return the request's JSON body validated against the schema, or raise ValidationFailed."""
    if not request.is_json:
        raise ValidationFailed.single("body", "Content-Type must be application/json", status=415)
    data = request.get_json(silent=True)  # a body over the limit still raises 413 here
    if data is None:
        raise ValidationFailed.single("body", "body is not valid JSON", status=400)
    if not isinstance(data, dict):
        raise ValidationFailed.single("body", "body must be a JSON object", status=422)
    try:
        return schema.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationFailed(field_errors(exc), status=422) from None
