"""Saved searches per user, shared by the withdrawal and article searches."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.savedsearches.views import bp

    app.register_blueprint(bp)
