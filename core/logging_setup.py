"""Application logging that never carries a personnummer."""
from __future__ import annotations

import logging
import sys

from flask import Flask

from core.privacy.detection import REDACTED, redact_personnummer

__all__ = ["REDACTED", "PersonalDataFilter", "init_app", "protect_handler", "redact"]


def redact(text: str) -> str:
    """Return the text with anything written like a personnummer replaced, even inside URLs.

    Every candidate, valid or not: a mistyped personnummer in a search still points at a person.
    """
    return redact_personnummer(text, validated=False)


class PersonalDataFilter(logging.Filter):
    """Rewrite each record so its rendered message holds no personnummer."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = PersonalDataFilter()


def protect_handler(handler: logging.Handler) -> None:
    """Attach the personal-data filter to a handler once."""
    if _FILTER not in handler.filters:
        handler.addFilter(_FILTER)


def _install_redacting_record_factory() -> None:
    """Redact every log record as it is made, whichever logger or handler it goes to."""
    current = logging.getLogRecordFactory()
    if getattr(current, "redacts_personal_data", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:  # noqa: ANN002, ANN003
        record = current(*args, **kwargs)
        _FILTER.filter(record)
        return record

    factory.redacts_personal_data = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def init_app(app: Flask) -> None:
    """Redact personnummer from all log records and give the root logger a handler if it has none."""
    _install_redacting_record_factory()
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    for handler in root.handlers:
        protect_handler(handler)
