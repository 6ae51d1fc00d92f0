"""The JSON API under /api/v1 (bearer tokens, no CSRF) and /health."""
from __future__ import annotations

from flask import Flask

from app.extensions import csrf


def init_app(app: Flask) -> None:
    from app.api import health, views

    csrf.exempt(views.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(health.bp)
