"""Integers from the outside are bounded before they reach the store, in one place for every route.

An id above what the id columns hold made SQLite raise "Python int too large to convert to
SQLite INTEGER" and PostgreSQL "integer out of range", both a 500. Here the `int` URL converter
answers 404 for such ids, `request.args/form.get(name, type=int)` refuses them with 422 naming
the field, and a form or query value written as an integer too long for any column (WTForms'
integer and hidden id fields among them) is refused before the view runs.
"""
from __future__ import annotations

import re
from typing import Any

from flask import Flask, Request, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

from core.errors import ValidationFailed, wants_json

# The id columns are INTEGER: 32 bits on PostgreSQL (SQLite would take 64).
MAX_ID = 2**31 - 1
MIN_INTEGER = -(2**31)
# No column holds more than 64 bits, so a longer integer literal in a form or query is never meant.
MAX_ANY_INTEGER = 2**63 - 1
_INTEGER_LITERAL = re.compile(r"^\s*[+-]?\d{19,}\s*$")


def integer_in_range(value: int) -> bool:
    """Return whether an integer fits the store's INTEGER columns."""
    return MIN_INTEGER <= value <= MAX_ID


def out_of_range(field: str) -> ValidationFailed:
    """Return the refusal of an integer too large for the store, naming the field."""
    if wants_json():
        return ValidationFailed.single(field, f"must be an integer between {MIN_INTEGER} and {MAX_ID}")
    return ValidationFailed.single(field, "talet är för stort")


class IdConverter(IntegerConverter):
    """The `int` converter, bounded to what an id column holds: a larger id is a 404, not a 500."""

    # Longer ids must not even match: a route that fails only in to_python would answer 405
    # when another method of the same path exists, since werkzeug matched the path before.
    regex = r"\d{1,%d}" % len(str(MAX_ID))

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = None, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits, min, MAX_ID if max is None else max, signed)


class BoundedArgs(ImmutableMultiDict):
    """Query and form values whose `get(..., type=int)` refuses integers the store cannot hold."""

    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:  # noqa: A002
        value = super().get(key, default, type)
        if type is int and isinstance(value, int) and not integer_in_range(value):
            raise out_of_range(str(key))
        return value

    def getlist(self, key: Any, type: Any = None) -> list:  # noqa: A002
        values = super().getlist(key, type)
        if type is int and any(not integer_in_range(v) for v in values):
            raise out_of_range(str(key))
        return values


class BoundedRequest(Request):
    parameter_storage_class = BoundedArgs

    def _load_form_data(self) -> None:
        # Checked when the form is first read, not before the view: a view may first raise the body limit.
        super()._load_form_data()
        field = oversized_integer_field(self.form)
        if field is not None:
            raise out_of_range(field)


def oversized_integer_field(values: ImmutableMultiDict) -> str | None:
    """Return the first field whose value is an integer literal longer than any column holds."""
    for key, value in values.items(multi=True):
        if isinstance(value, str) and _INTEGER_LITERAL.match(value) and _too_long(value.strip().lstrip("+-")):
            return str(key)
    return None


def _too_long(digits: str) -> bool:
    # Length first: int() refuses literals past 4,300 digits with a ValueError of its own.
    return len(digits) > len(str(MAX_ANY_INTEGER)) or int(digits) > MAX_ANY_INTEGER


def init_app(app: Flask) -> None:
    """Bound ids in paths, typed query and form values, and integer literals in queries and forms."""
    # Before any blueprint adds a rule: converters are looked up when a rule is added.
    app.url_map.converters["int"] = IdConverter
    app.request_class = BoundedRequest

    @app.before_request
    def _refuse_oversized_query_integers():
        field = oversized_integer_field(request.args)
        if field is not None:
            raise out_of_range(field)
