"""Application logging that never carries a personnummer."""
from __future__ import annotations

import logging
import re
import sys

from flask import Flask

# 12 or 10 digits, optionally with a separator before the last four: a personnummer
# or samordningsnummer. Redacted even inside URLs of access-log lines.
PERSONNUMMER_PATTERN = re.compile(r"(?<!\d)(?:\d{2})?\d{6}[-+]?\d{4}(?!\d)")
REDACTED = "[personnummer]"


def redact(text: str) -> str:
    """Return the text with anything shaped like a personnummer replaced."""
    return PERSONNUMMER_PATTERN.sub(REDACTED, text)


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


def init_app(app: Flask) -> None:
    """Give the root logger a redacting handler and protect every handler already present."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    for logger in (root, app.logger, logging.getLogger("werkzeug"), logging.getLogger("gunicorn.error"),
                   logging.getLogger("gunicorn.access")):
        for handler in logger.handlers:
            protect_handler(handler)
