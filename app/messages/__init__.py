"""Messages to users and units on My page, with the e-mail notice."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the package (filled in by the messages work)."""
