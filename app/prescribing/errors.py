"""The error the pure prescribing rules raise; plain Python, no Flask."""
from __future__ import annotations


class InvalidInput(ValueError):
    """An input to a prescribing rule is invalid; `field` names it, the message is Swedish."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
