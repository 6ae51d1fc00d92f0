"""The access log of personal-data reads; admins read it under Administration and over the API."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.accesslog.api import bp

    app.register_blueprint(bp)
