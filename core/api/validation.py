"""Parse JSON bodies into pydantic schemas and check form text; every error names its field.

Control characters are refused here, for the JSON API (every `ApiSchema`) and for forms
(`TextForm`): one of them in a driftinfo text made the Atom feed invalid XML for every
subscriber. Tab and newline are allowed in multi-line fields only.
"""
from __future__ import annotations

import re
from typing import Any, TypeVar

import annotated_types
import pydantic
from flask import request
from flask_wtf import FlaskForm
from pydantic_core import PydanticCustomError
from wtforms import StringField, TextAreaField
from wtforms.validators import StopValidation

from core.errors import FieldError, ValidationFailed
from core.privacy.screening import personal_data_error

T = TypeVar("T", bound=pydantic.BaseModel)

# C0 and C1 controls, DEL, lone surrogates and the non-characters XML 1.0 refuses.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
LINE_BREAKS = re.compile("[\t\n\r]")
CONTROL_MESSAGE = ("Fältet innehåller otillåtna styrtecken (osynliga tecken, t.ex. från kopiering). "
                   "Skriv in texten igen.")
LINE_BREAK_MESSAGE = "Fältet ska vara en rad, utan radbrytning eller tabb."
# A JSON field is multi-line when it may hold more than a title's length (titles are at most 200).
SINGLE_LINE_MAX = 200


def control_character_message(value: str, multiline: bool) -> str | None:
    """Return why the text is refused, or None: no control characters; tab and newline only if multi-line."""
    if CONTROL_CHARACTERS.search(value):
        return CONTROL_MESSAGE
    if not multiline and LINE_BREAKS.search(value):
        return LINE_BREAK_MESSAGE
    return None


def _multiline(info: pydantic.fields.FieldInfo | None) -> bool:
    limits = [m.max_length for m in (info.metadata if info else []) if isinstance(m, annotated_types.MaxLen)]
    return not limits or max(limits) > SINGLE_LINE_MAX


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
    """Base of request schemas: unknown fields refused, types strict, strings and integers bounded, no control
    characters."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True, str_max_length=2000)

    _integer_bounds = pydantic.field_validator("*", mode="after")(check_integer_bounds)

    @pydantic.field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: pydantic.ValidationInfo) -> Any:
        for text in _strings(value):
            message = control_character_message(text, _multiline(cls.model_fields.get(info.field_name or "")))
            if message:
                raise PydanticCustomError("control_character", message)
        return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [item for item in value if isinstance(item, str)]
    return []


class TextForm(FlaskForm):
    """A form whose text fields refuse control characters (text areas may hold tab and newline)."""

    def validate(self, extra_validators: dict | None = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field, StringField) and isinstance(field.data, str):
                message = control_character_message(field.data, isinstance(field, TextAreaField))
                if message:
                    field.errors = [*field.errors, message]
                    valid = False
        return valid


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


class NoPersonalData:
    """A form validator: the field's text carries no personal data; the message says what was found and why."""

    def __init__(self, why: str) -> None:
        self.why = why

    def __call__(self, form: FlaskForm, field: StringField) -> None:
        error = personal_data_error(field.name, field.data, self.why)
        if error is not None:
            raise StopValidation(error.message)
