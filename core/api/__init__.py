"""The JSON API under /api/v1 (bearer tokens, no CSRF) and /health."""
from __future__ import annotations

from flask import Flask



def init_app(app: Flask) -> None:
    from core.api import health, views

    app.register_blueprint(views.bp)
    app.register_blueprint(health.bp)
